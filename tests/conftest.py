"""Shared fixtures: the shipped playbooks, loaded once for the whole session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fakes.bot_framework_keys import FakeBotFrameworkKeys
from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from hang_dump import start as start_hang_dump
from local_redis import MISSING, ClusterNodes, RedisServer, SentinelGroup

from adapters.redis_store import RedisStore
from bot.playbook_set import PlaybookSet
from touchpoint.loader import load_folder

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
DATA = Path(__file__).resolve().parent / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak-seconds", type=float, default=None,
                     help="seconds of load in each soak test (default: $TOUCHPOINT_SOAK_SECONDS "
                          "or a short CI run)")


_HANG_DUMPS = pytest.StashKey["threading.Timer | None"]()


def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """Arms the asyncio task dump; returning None lets pytest-timeout arm its own timer."""
    item.stash[_HANG_DUMPS] = start_hang_dump(item, float(settings.timeout or 0))


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timer = item.stash.get(_HANG_DUMPS, None)
    if timer is not None:
        timer.cancel()


@pytest.fixture
def soak_seconds(request: pytest.FixtureRequest) -> float:
    """How long the soak tests load the servers: short in CI, long with --soak-seconds N."""
    given = request.config.getoption("--soak-seconds")
    if given is None:
        given = float(os.environ.get("TOUCHPOINT_SOAK_SECONDS", "4"))
    return float(given)


@pytest.fixture(scope="session")
def library() -> PlaybookSet:
    return load_folder(PLAYBOOKS)


def _redis_server(directory: Path, persistent: bool = False) -> RedisServer:
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING, pytrace=False)
    return RedisServer(directory, persistent=persistent)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """$REDIS_URL if set (CI's service), else a throwaway redis-server of our own.

    A missing redis-server fails the tests rather than skipping them: a skip
    would let the shared store go untested without anyone noticing.
    """
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = _redis_server(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards (the server may be shared)."""
    prefix = f"touchpoint-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
async def redis_store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisStore]:
    """The Redis store over this test's own prefix."""
    store = RedisStore.from_url(redis_url, redis_prefix)
    yield store
    await store.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A persistent redis-server for this test alone, free to be stopped and restarted."""
    server = _redis_server(tmp_path, persistent=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _slack_api_server() -> Iterator[FakeSlackAPI]:
    server = FakeSlackAPI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slack_api(_slack_api_server: FakeSlackAPI) -> FakeSlackAPI:
    """The fake Slack Web API every Slack test talks to, emptied for each test."""
    _slack_api_server.reset()
    return _slack_api_server


@pytest.fixture
async def teams_connector() -> AsyncIterator[FakeTeamsConnector]:
    """A fake Bot Framework connector on 127.0.0.1 that records what the bot posts."""
    connector = FakeTeamsConnector()
    await connector.start()
    yield connector
    await connector.close()


@pytest.fixture
async def bot_framework_keys() -> AsyncIterator[FakeBotFrameworkKeys]:
    """The Bot Framework's signing keys served on 127.0.0.1, with a key to sign tokens."""
    keys = FakeBotFrameworkKeys()
    await keys.start()
    yield keys
    await keys.close()


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of our own that speaks TLS only, with a throwaway CA; its `url` trusts it.

    Always started here, even when $REDIS_URL is set: that Redis may not speak TLS.
    """
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING, pytrace=False)
    server = RedisServer(tmp_path_factory.mktemp("redis-tls"), tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterNodes]:
    """A three-node Redis Cluster of our own (always started here: $REDIS_URL is one server)."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail(MISSING, pytrace=False)
    cluster = ClusterNodes(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A primary, a replica and three sentinels for this test alone, free to lose the primary."""
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING, pytrace=False)
    group = SentinelGroup(tmp_path / "sentinel", persistent=True)
    try:
        group.start()
        yield group
    finally:
        group.stop()
