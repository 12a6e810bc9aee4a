"""Touchpoint's real server with Slack attached, and requests signed as Slack signs them.

The server is `touchpoint.server.build_app` plus `adapters.slack.attach`, on a
free port of 127.0.0.1, with the Web API pointed at the fake Slack API. Tests
speak HTTP to it and read what the fake Slack API received; `settle` waits the
way shutdown does, until every answer taken has been posted or has failed.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from fakes.slack_api import FakeSlackAPI

from adapters.slack import app as slack
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.store import Store
from touchpoint.server import build_app
from touchpoint.settings import Settings

SLACK_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
SECRET = "8f742231b10e8888abcd99edabcd00d0"
TOKEN = "xoxb-0000000000-0000000000000-fakefakefakefakefakefake"
APP_TOKEN = "xapp-1-A0FAKEAPP-0000000000000-fakefakefakefakefakefake"
FORM = "application/x-www-form-urlencoded"


def fixture_text(name: str) -> str:
    return (SLACK_FIXTURES / name).read_text()


def fixture_json(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_text(name))
    return loaded


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, content_type: str, *, timestamp: float | None = None,
                   secret: str = SECRET, retry: int = 0) -> dict[str, str]:
    stamp = str(int(time.time() if timestamp is None else timestamp))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, stamp, secret),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def command_body(text: str, *, user: str = "U0FAKEUSER", channel: str = "C0FAKECHAN",
                 trigger: str = "", response_url: str = "") -> bytes:
    """A slash command as Slack posts it: the captured fixture's fields, new values."""
    fields = dict(_fixture_form())
    fields.update(command="/touchpoint", text=text, user_id=user, channel_id=channel)
    fields["trigger_id"] = trigger or f"{time.time_ns()}.0000000000002.fakefakefake"
    if response_url:
        fields["response_url"] = response_url
    return urlencode(fields).encode()


def _fixture_form() -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(fixture_text("slash_command.txt"), keep_blank_values=True)


_event_ids = iter(range(1, 1_000_000))


def message_event(text: str, *, channel: str = "C0FAKECHAN", user: str = "U0FAKEUSER",
                  channel_type: str = "channel", thread_ts: str = "",
                  event_id: str = "", **extra: Any) -> dict[str, Any]:
    """The captured channel message with new words: same envelope, same fields."""
    body = copy.deepcopy(fixture_json("event_message.json"))
    event = body["event"]
    event.update(text=text, channel=channel, user=user, channel_type=channel_type, **extra)
    event["blocks"][0]["elements"][0]["elements"][0]["text"] = text
    if thread_ts:
        event["thread_ts"] = thread_ts
    body["event_id"] = event_id or f"Ev0TEST{next(_event_ids):06d}"
    return body


def mention_event(text: str, *, event_id: str = "", thread_ts: str = "") -> dict[str, Any]:
    body = copy.deepcopy(fixture_json("event_app_mention.json"))
    body["event"]["text"] = f"<@U0FAKEBOT> {text}"
    body["event"]["blocks"][0]["elements"][0]["elements"][1]["text"] = f" {text}"
    if thread_ts:
        body["event"]["thread_ts"] = thread_ts
    body["event_id"] = event_id or f"Ev0TEST{next(_event_ids):06d}"
    return body


def action_payload(action: str, value: str, *, index: int = 0, ephemeral: bool = False,
                   thread_ts: str = "", response_url: str = "",
                   channel: str = "C0FAKECHAN") -> dict[str, Any]:
    """The captured button click, now on one of the bot's own buttons."""
    payload = copy.deepcopy(fixture_json("block_actions.json"))
    pressed = payload["actions"][0]
    pressed.update(action_id=f"touchpoint:{action}:{index}", value=value)
    payload["trigger_id"] = f"{time.time_ns()}.0000000000004.fakefakefake"
    payload["channel"]["id"] = channel
    payload["container"]["channel_id"] = channel
    if ephemeral:
        payload["container"]["is_ephemeral"] = True
        del payload["message"]
    if thread_ts:
        payload["container"]["thread_ts"] = thread_ts
        if "message" in payload:
            payload["message"]["thread_ts"] = thread_ts
    if response_url:
        payload["response_url"] = response_url
    return payload


def view_submission(view: Mapping[str, Any], values: Mapping[str, Any], *,
                    user: str = "U0FAKEUSER") -> dict[str, Any]:
    """The captured view_submission's envelope around a view Slack opened for the bot, with
    the person's input as `state.values` (block id, then action id, then the element's
    state)."""
    payload = copy.deepcopy(fixture_json("view_submission.json"))
    payload["user"]["id"] = user
    payload["trigger_id"] = f"{time.time_ns()}.0000000000006.fakefakefake"
    payload["view"] = {**payload["view"], **copy.deepcopy(dict(view)),
                       "state": {"values": copy.deepcopy(dict(values))}}
    return payload


def action_body(payload: Mapping[str, Any]) -> bytes:
    """Interactivity's wire form: one `payload=` field of compact JSON, form-encoded."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


@dataclass
class Answer:
    status: int
    text: str


@dataclass
class Touchpoint:
    """The running server, from the outside."""

    url: str
    http: aiohttp.ClientSession
    handler: Handler
    adapter: slack.SlackAdapter
    slack_api: FakeSlackAPI

    async def post(self, body: bytes, headers: Mapping[str, str],
                   path: str = "/slack/events") -> Answer:
        async with self.http.post(self.url + path, data=body, headers=dict(headers)) as resp:
            return Answer(resp.status, await resp.text())

    async def event(self, payload: Mapping[str, Any], *, retry: int = 0) -> Answer:
        body = json.dumps(payload).encode()
        return await self.post(body, signed_headers(body, "application/json", retry=retry))

    async def command(self, text: str, **fields: Any) -> Answer:
        body = command_body(text, **fields)
        return await self.post(body, signed_headers(body, FORM))

    async def action(self, payload: Mapping[str, Any]) -> Answer:
        body = action_body(payload)
        return await self.post(body, signed_headers(body, FORM))

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path) as resp:
            return resp.status, await resp.json()

    async def settle(self) -> None:
        """Wait until every answer the server took has been posted or has failed."""
        await self.adapter.drain()


def settings_for(slack_api: FakeSlackAPI, **overrides: Any) -> Settings:
    base = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_api.url,
    )
    return replace(base, **overrides)


@asynccontextmanager
async def running(slack_api: FakeSlackAPI, library: PlaybookSet, *, http: bool = True,
                  socket_mode: bool = False, store: Store | None = None,
                  **overrides: Any) -> AsyncIterator[Touchpoint]:
    settings = settings_for(slack_api, **overrides)
    handler = Handler(library, store or MemoryStore())
    app = build_app(settings, handler)
    adapter = slack.attach(app, handler, settings.slack, http=http, socket_mode=socket_mode)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http_session:
            yield Touchpoint(str(server.make_url("")).rstrip("/"), http_session, handler,
                             adapter, slack_api)
    finally:
        await server.close()


def texts_that_match(library: PlaybookSet, mode: str) -> list[tuple[str, str]]:
    """(text, playbook id) pairs the shipped playbooks match in `mode`, one per playbook.

    Taken from the playbooks' own examples, so the tests follow the playbooks
    as they are tuned instead of pinning today's wording.
    """
    found = []
    for playbook in library.playbooks:
        for example in playbook.examples.match:
            result = library.matcher.match(example, mode)  # type: ignore[arg-type]
            if result.best is not None and result.best.playbook == playbook.id:
                found.append((example, playbook.id))
                break
    return found
