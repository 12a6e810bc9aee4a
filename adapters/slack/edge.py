"""The HTTP edge of `POST /slack/events`, as pure functions of the request's parts.

The signature is checked on the raw bytes before anything parses them, so a forged
request, however malformed, never reaches a parser; a signed body is then handed to
bolt as JSON it cannot misread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.payloads import BadBody, parse_body


def signed_by_slack(verifier: SignatureVerifier | None, body: bytes,
                    headers: Mapping[str, str]) -> bool:
    """False without a signing secret: nothing unsigned is ever taken for Slack's."""
    if verifier is None:
        return False
    try:
        return verifier.is_valid(body=body,
                                 timestamp=headers.get("X-Slack-Request-Timestamp"),
                                 signature=headers.get("X-Slack-Signature"))
    except (ValueError, TypeError):  # a timestamp that is no number, a signature not ASCII
        return False


def to_bolt_request(body: bytes, content_type: str, headers: Mapping[str, str],
                    query: str) -> AsyncBoltRequest:
    """bolt reads a JSON body as it is: handing it the parsed object keeps it from
    guessing a form's kind from the words in it. Raises `BadBody` for any body that is
    not one of Slack's shapes, whatever part of the reading failed."""
    try:
        parsed = parse_body(body, content_type)
        kept = {name: value for name, value in headers.items()
                if name.lower() != "content-type"}
        return AsyncBoltRequest(body=json.dumps(parsed), query=query,
                                headers={**kept, "Content-Type": "application/json"})
    except BadBody:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError,
            RecursionError) as exc:
        raise BadBody(f"{type(exc).__name__}: {exc}") from None
