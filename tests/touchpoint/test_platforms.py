"""One registry of chat platforms, one shape for each: what the server iterates."""

from __future__ import annotations

import socket

from aiohttp.test_utils import TestClient, TestServer

from adapters.health import HEALTH_KEY
from adapters.platform import serve
from adapters.teams import app as teams
from adapters.teams.config import TeamsConfig
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.messages import PLATFORMS
from bot.playbook_set import PlaybookSet
from touchpoint import platforms
from touchpoint.server import build_app
from touchpoint.settings import Settings

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SECRET = "8f742231b10e8888abcd99edabcd00d0"
SLACK = {"slack_bot_token": "xoxb-1111-2222-fakefakefake", "slack_signing_secret": SECRET}


def test_every_platform_the_core_knows_is_registered_once() -> None:
    names = [name for name, _ in platforms.REGISTRY]
    assert sorted(names) == sorted(PLATFORMS)
    assert len(set(names)) == len(names)


def test_the_registry_builds_what_the_environment_turns_on(library: PlaybookSet) -> None:
    handler = Handler(library, MemoryStore())
    app = build_app(Settings(), handler)
    assert platforms.enabled(app, Settings(), handler) == []
    both = platforms.enabled(app, Settings(teams_dev=True, **SLACK), handler)
    assert [p.name for p in both] == [name for name, _ in platforms.REGISTRY]
    only = platforms.enabled(app, Settings(**SLACK), handler)
    assert [p.name for p in only] == ["slack"]


def test_each_platform_has_its_registered_name(library: PlaybookSet) -> None:
    handler = Handler(library, MemoryStore())
    app = build_app(Settings(), handler)
    for name, build in platforms.REGISTRY:
        platform = build(app, Settings(teams_dev=True, **SLACK), handler, False)
        assert platform is not None and platform.name == name


def test_socket_mode_only_drops_the_slack_events_route(library: PlaybookSet) -> None:
    handler = Handler(library, MemoryStore())
    settings = Settings(**SLACK, slack_app_token="xapp-1-fake")
    app = build_app(settings, handler)
    (slack,) = platforms.enabled(app, settings, handler, socket_mode_only=True)
    slack.attach(app)
    assert not [r for r in app.router.routes() if r.method == "POST"]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_teams_says_in_healthz_when_it_cannot_check_requests(library: PlaybookSet) -> None:
    """The Bot Framework's signing keys cannot be fetched: every request would be refused."""
    handler = Handler(library, MemoryStore())
    config = TeamsConfig(app_id=APP_ID, app_password=SECRET, tenant_id=TENANT,
                         openid_url=f"http://127.0.0.1:{unused_port()}/openid")
    bot = teams.platform(handler, config)
    assert bot is not None
    app = build_app(Settings(), handler)
    serve(app, bot)
    assert "teams" in app[HEALTH_KEY].parts
    async with TestClient(TestServer(app)) as client:
        await bot.keys.get("any")  # waits for the fetch, which fails at once
        async with client.get("/healthz") as response:
            body = await response.json()
    assert body["status"] == "degraded"
    assert body["teams"] == "Bot Framework signing keys unavailable"


async def test_teams_in_dev_mode_is_healthy(library: PlaybookSet) -> None:
    bot = teams.platform(Handler(library, MemoryStore()), TeamsConfig(dev=True))
    assert bot is not None and await bot.health() == "ok"
    await bot.close()
