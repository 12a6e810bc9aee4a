from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.edge import signed_by_slack, to_bolt_request
from adapters.slack.payloads import BadBody

SECRET = "edge-secret"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(
                timestamp=stamp, body=body)}


def test_only_a_body_signed_with_the_secret_is_slacks() -> None:
    body = b"command=%2Ftouchpoint&text=hello"
    verifier = SignatureVerifier(SECRET)
    assert signed_by_slack(verifier, body, signed(body))
    assert not signed_by_slack(verifier, body + b"x", signed(body))
    assert not signed_by_slack(verifier, body, signed(body, "another-secret"))
    assert not signed_by_slack(None, body, signed(body))
    assert not signed_by_slack(verifier, body, {"X-Slack-Request-Timestamp": "soon",
                                                "X-Slack-Signature": "v0=ab"})
    assert not signed_by_slack(verifier, body, {})


def test_a_command_whose_text_says_payload_keeps_its_fields() -> None:
    body = urlencode({"command": "/touchpoint", "text": "the payload of the renewal quote",
                      "user_id": "U1"}).encode()
    request = to_bolt_request(body, "application/x-www-form-urlencoded",
                              {"Content-Type": "application/x-www-form-urlencoded",
                               "X-Slack-Retry-Num": "1"}, "")
    assert request.body["text"] == "the payload of the renewal quote"
    assert request.headers["content-type"] == ["application/json"]
    assert request.headers["x-slack-retry-num"] == ["1"]


def test_an_interactivity_form_is_read_from_its_payload_field() -> None:
    payload = {"type": "block_actions", "actions": [{"action_id": "x"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    request = to_bolt_request(body, "application/x-www-form-urlencoded", {}, "")
    assert request.body == payload


@pytest.mark.parametrize("body, content_type", [
    (b"\xff\xfe", "application/json"),
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (urlencode({"payload": "{\"actions\": 3}"}).encode(), "application/x-www-form-urlencoded"),
    (b'{"type": 7}', "application/json"),
])
def test_a_body_in_none_of_slacks_shapes_is_a_bad_body(body: bytes, content_type: str) -> None:
    with pytest.raises(BadBody):
        to_bolt_request(body, content_type, {}, "")
