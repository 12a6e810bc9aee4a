"""Slack's one error classifier: every failed call as an outbound outcome."""

from __future__ import annotations

import aiohttp
import pytest
from multidict import CIMultiDict
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.outbound import Result
from adapters.slack.web import classify, failure


@pytest.mark.parametrize(("status", "error", "headers", "expected"), [
    (429, "ratelimited", {"Retry-After": "7"}, Result("retry", "ratelimited", 7.0)),
    (429, "", {"retry-after": ["2"]}, Result("retry", "ratelimited", 2.0)),
    (429, "ratelimited", {}, Result("retry", "ratelimited", None)),
    (200, "ratelimited", {}, Result("retry", "ratelimited")),
    (200, "not_in_channel", {}, Result("gone", "not_in_channel")),
    (200, "channel_not_found", {}, Result("gone", "channel_not_found")),
    (200, "is_archived", {}, Result("gone", "is_archived")),
    (200, "cannot_dm_bot", {}, Result("gone", "cannot_dm_bot")),
    (500, "", {}, Result("retry", "HTTP 500")),
    (503, "", {"Retry-After": "30"}, Result("retry", "HTTP 503")),
    (200, "internal_error", {}, Result("retry", "internal_error")),
    (200, "service_unavailable", {}, Result("retry", "service_unavailable")),
    (200, "invalid_auth", {}, Result("failed", "invalid_auth: Slack rejected SLACK_BOT_TOKEN")),
    (200, "token_revoked", {}, Result("failed", "token_revoked: Slack rejected SLACK_BOT_TOKEN")),
    (200, "msg_too_long", {}, Result("failed", "msg_too_long")),
    (200, "missing_scope", {}, Result("failed", "missing_scope")),
    (404, "", {}, Result("failed", "HTTP 404")),
])
def test_classify(status: int, error: str, headers: dict[str, object],
                  expected: Result) -> None:
    assert classify(status, error, headers) == expected


def _refusal(status: int, body: dict[str, object], headers: dict[str, str]) -> SlackApiError:
    response = AsyncSlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                                  data=body, headers=headers, status_code=status)
    return SlackApiError("refused", response)


@pytest.mark.parametrize(("raised", "expected"), [
    (_refusal(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}),
     Result("retry", "ratelimited", 3.0)),
    (_refusal(200, {"ok": False, "error": "is_archived"}, {}), Result("gone", "is_archived")),
    (_refusal(500, {}, {}), Result("retry", "HTTP 500")),
    (_refusal(200, {"ok": False, "error": "not_authed"}, {}),
     Result("failed", "not_authed: Slack rejected SLACK_BOT_TOKEN")),
    (TimeoutError(), Result("retry", "TimeoutError")),
    (aiohttp.ClientConnectionError("reset"), Result("retry", "ClientConnectionError: reset")),
    (ConnectionRefusedError(111, "refused"),
     Result("retry", "ConnectionRefusedError: [Errno 111] refused")),
])
def test_failure_reads_what_a_call_raised(raised: BaseException, expected: Result) -> None:
    assert failure(raised) == expected


def test_a_refusal_with_aiohttp_headers() -> None:
    raised = _refusal(429, {"ok": False, "error": "ratelimited"}, {})
    raised.response.headers = CIMultiDict({"retry-after": "5"})
    assert failure(raised) == Result("retry", "ratelimited", 5.0)
