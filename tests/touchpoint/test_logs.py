"""No message or customer text in the log of a real `touchpoint serve`, at DEBUG even, unless
TOUCHPOINT_LOG_TEXT=1: not in the access log (the Try-it page's query string, the Referer),
not in the Slack library's request and response bodies."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from fakes.slack_api import FakeSlackAPI
from raw_http import raw_request
from serve_process import serving, unexpected_problems, wait_for_log
from test_serve_slack import clean_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from slack_harness import (  # noqa: E402
    FORM,
    SECRET,
    TOKEN,
    command_body,
    message_event,
    signed_headers,
)

from touchpoint.settings import Settings, SettingsError  # noqa: E402

ADMIN_TOKEN = "log-test-token-0123456789"
SECRET_WORD = "Qwertzuiop"
"""A customer's name, in everything sent to the server."""


async def _traffic(url: str, slack_api: FakeSlackAPI) -> None:
    """A slash command, a channel message and a Try-it, each holding the customer's name."""
    async with aiohttp.ClientSession() as http:
        body = command_body(f"what do I tell {SECRET_WORD} about zzyzx")
        async with http.post(url + "/slack/events", data=body,
                             headers=signed_headers(body, FORM)) as resp:
            assert resp.status == 200
        await slack_api.wait_for("chat.postEphemeral")
        event = message_event(f"{SECRET_WORD} is furious about the outage and wants to cancel")
        raw = json.dumps(event).encode()
        async with http.post(url + "/slack/events", data=raw,
                             headers=signed_headers(raw, "application/json")) as resp:
            assert resp.status == 200
        async with http.get(f"{url}/manage/?text={quote(SECRET_WORD)}&where=command", headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}",
                "Referer": f"{url}/manage/?text={SECRET_WORD}"}) as resp:
            assert resp.status == 200 and SECRET_WORD in await resp.text()


@pytest.mark.parametrize("log_text", ["", "1"])
async def test_no_customer_text_in_the_log_unless_asked(slack_api: FakeSlackAPI,
                                                        log_text: str) -> None:
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=slack_api.url, TOUCHPOINT_LOG_LEVEL="DEBUG",
                    TOUCHPOINT_ADMIN_TOKEN=ADMIN_TOKEN, TOUCHPOINT_LOG_TEXT=log_text)
    async with serving(env) as server:
        await slack_api.wait_for("auth.test")
        await _traffic(server.url, slack_api)
    assert re.search(r'INFO aiohttp\.access: 127\.0\.0\.1 .*"GET /manage/', server.log)
    assert " DEBUG touchpoint." in server.log  # and DEBUG is on
    if log_text:
        assert SECRET_WORD in server.log
    else:
        assert SECRET_WORD not in server.log, [x for x in server.lines if SECRET_WORD in x]


def test_the_setting_is_a_flag() -> None:
    assert Settings.from_env({"TOUCHPOINT_LOG_TEXT": "1"}).log_text
    assert not Settings.from_env({}).log_text
    with pytest.raises(SettingsError, match="TOUCHPOINT_LOG_TEXT"):
        Settings.from_env({"TOUCHPOINT_LOG_TEXT": "maybe"})


async def test_a_request_aiohttp_cannot_parse_is_a_warning_not_an_error() -> None:
    env = clean_env()
    async with serving(env) as server:
        status, _ = await raw_request(server.url, "GET", "/healthz?key=\xff", [])
        assert status == 400
        status, _ = await raw_request(server.url, "GET", "/healthz", [("X-Bad", b"a\x00b")])
        assert status == 400
        await wait_for_log(server, "malformed HTTP")
    assert not unexpected_problems(server, []), server.log
