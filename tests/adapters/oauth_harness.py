"""Touchpoint installed in many Slack workspaces, served as `touchpoint serve` serves it: the
OAuth install over HTTP, and what each workspace then says and is sent, through the fake
Slack API."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet
from fakes.slack_api import CLIENT_ID, CLIENT_SECRET, FakeSlackAPI, Team
from slack_harness import FORM, SECRET, fixture_text, signed_headers

from adapters.platform import serve
from adapters.slack import app as slack
from adapters.slack.oauth import Installs
from bot.handler import Handler
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store
from touchpoint import platforms
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import Job, PromptSettings
from touchpoint.server import build_app
from touchpoint.settings import Settings
from touchpoint.slack_install_settings import SlackInstall

ONE = Team("T0ONE", "xoxb-1-one-fakefakefakefake", "U0ONEBOT", "B0ONEBOT")
TWO = Team("T0TWO", "xoxb-2-two-fakefakefakefake", "U0TWOBOT", "B0TWOBOT")
ORG = Team("", "xoxb-3-org-fakefakefakefake", "U0ORGBOT", "B0ORGBOT", enterprise_id="E0ORG",
           org=True)
FAST = PromptSettings(rate=500, channel_interval=0.01, lease=5, grace=3600, workers=4)
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COOKIE = "slack-app-oauth-state"


@dataclass
class Served:
    url: str
    http: aiohttp.ClientSession
    adapter: slack.SlackAdapter
    installs: Installs
    store: Store
    app: aiohttp.web.Application
    settings: Settings

    async def get(self, path: str, cookie: str = "") -> tuple[int, str, str]:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        async with self.http.get(self.url + path, headers=headers,
                                 allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp.headers.get("Set-Cookie", "")

    async def install(self, code: str) -> int:
        """The person's browser: opens /slack/install, approves at Slack, comes back."""
        status, page, cookie = await self.get("/slack/install")
        assert status == 200
        state = re.search(r"state=([A-Za-z0-9_-]+)", page)
        assert state is not None and f"{COOKIE}={state.group(1)}" in cookie
        back, _, _ = await self.get(f"/slack/oauth_redirect?code={code}&state={state.group(1)}",
                                    cookie=state.group(1))
        return back

    async def signed(self, body: bytes, content_type: str) -> int:
        async with self.http.post(self.url + "/slack/events", data=body,
                                  headers=signed_headers(body, content_type)) as resp:
            return resp.status

    async def command(self, text: str, team: Team, channel: str, *,
                      workspace: str = "", response_url: str = "") -> int:
        fields = dict(parse_qsl(fixture_text("slash_command.txt"), keep_blank_values=True))
        fields.update(command="/touchpoint", text=text, channel_id=channel,
                      team_id=workspace or team.team_id, user_id="U0PERSON",
                      response_url=response_url, trigger_id=f"{time.time_ns()}.{channel}.trigger")
        if team.enterprise_id:
            fields.update(enterprise_id=team.enterprise_id,
                          is_enterprise_install="true" if team.org else "false")
        return await self.signed(urlencode(fields).encode(), FORM)

    async def event(self, payload: dict[str, Any]) -> int:
        return await self.signed(json.dumps(payload).encode(), "application/json")


def install_settings(slack_api: FakeSlackAPI, **overrides: Any) -> Settings:
    install = SlackInstall(CLIENT_ID, CLIENT_SECRET, Fernet.generate_key().decode())
    return Settings(slack_signing_secret=SECRET, slack_api_url=slack_api.url,
                    slack_install=install, **overrides)


@asynccontextmanager
async def serving(slack_api: FakeSlackAPI, library: PlaybookSet, settings: Settings,
                  store: Store) -> AsyncIterator[Served]:
    """The server as `touchpoint serve` puts it together: Slack attached from the settings."""
    handler = Handler(library, store)
    app = build_app(settings, handler)
    for platform in platforms.enabled(app, settings, handler):
        serve(app, platform)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    adapter = app[slack.SLACK_KEY]
    assert adapter.installs is not None
    try:
        async with aiohttp.ClientSession() as http:
            yield Served(str(server.make_url("")).rstrip("/"), http, adapter, adapter.installs,
                         store, app, settings)
    finally:
        await server.close()


@asynccontextmanager
async def two_teams(slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
                    redis_prefix: str, store: Store) -> AsyncIterator[Served]:
    """The server over Redis, with workspaces ONE and TWO known to the fake Slack API
    (their install codes "code-one" and "code-two"; neither is installed yet)."""
    slack_api.add_team(ONE, "code-one")
    slack_api.add_team(TWO, "code-two")
    settings = install_settings(slack_api, redis_url=redis_url, redis_prefix=redis_prefix)
    async with serving(slack_api, library, settings, store) as running:
        yield running


def authorization(call: Any) -> str:
    return str(call.headers.get("Authorization", ""))


async def post_prompt(served: Served, library: PlaybookSet, channel: str,
                      team: str = "") -> str:
    """What the scheduler does at 09:00 for the channel, with the server's Slack poster;
    `team` as a schedule.yaml entry's `slack_team` gives it."""
    outbound = served.adapter.outbound(served.store)
    poster = PromptDelivery(served.store, {"slack": outbound}, lambda: library.playbooks, FAST)
    try:
        sub = Subscription("slack", channel, NOW.time(), "UTC", EVERY_DAY, team=team)
        return await poster.post(Job(sub, NOW.date(), NOW))
    finally:
        await outbound.close()
