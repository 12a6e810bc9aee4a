"""REDIS_URL and TOUCHPOINT_REDIS_PREFIX from the environment to `/healthz`."""

from __future__ import annotations

import logging
import socket

import pytest
from aiohttp.test_utils import TestClient, TestServer
from serve_process import clean_environment, serving, wait_for_log

from adapters.redis_store import RedisStore
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from touchpoint.server import build_app, make_store, opened_store, store_notice, watch_store
from touchpoint.settings import Settings, SettingsError


def test_redis_is_off_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.redis_url == ""
    assert settings.redis_prefix == "touchpoint:"
    assert isinstance(make_store(settings), MemoryStore)


@pytest.mark.parametrize("url", [
    "redis://localhost:6379/0",
    "redis://redis",
    "rediss://:secret@cache.example.com:6380/2",
    "redis://user:secret@[::1]:6379",
    "unix:///var/run/redis/redis.sock?db=1",
])
def test_redis_urls_accepted(url: str) -> None:
    settings = Settings.from_env({"REDIS_URL": url, "TOUCHPOINT_REDIS_PREFIX": "tp:prod:"})
    assert settings.redis_url == url
    assert settings.redis_prefix == "tp:prod:"


@pytest.mark.parametrize("url, problem", [
    ("http://localhost:6379", "must start with redis://, rediss:// or unix://"),
    ("localhost:6379", "must start with redis://"),
    ("redis://", "needs a host"),
    ("redis://:secret@localhost:port", "port must be a number"),
    ("unix://", "needs a socket path"),
])
def test_bad_redis_urls_named_without_their_password(url: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"REDIS_URL": url})
    assert problem in str(error.value)
    assert "secret" not in str(error.value)


def test_password_of_a_wrong_scheme_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"REDIS_URL": "postgres://app:hunter2@db:5432/x"})
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("prefix", ["", "touch point:", "tp:\n", "x" * 101])
def test_bad_redis_prefixes(prefix: str) -> None:
    with pytest.raises(SettingsError, match="TOUCHPOINT_REDIS_PREFIX"):
        Settings.from_env({"TOUCHPOINT_REDIS_PREFIX": prefix})


async def test_make_store_uses_redis_when_configured(redis_url: str, redis_prefix: str) -> None:
    store = make_store(Settings(redis_url=redis_url, redis_prefix=redis_prefix))
    assert isinstance(store, RedisStore)
    assert store.prefix == redis_prefix
    try:
        assert await store.first_time("event:1", 60)
    finally:
        await store.close()


async def test_opened_store_closes_a_redis_store_when_done(
        redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[RedisStore] = []
    close = RedisStore.close

    async def closing(store: RedisStore) -> None:
        closed.append(store)
        await close(store)

    monkeypatch.setattr(RedisStore, "close", closing)
    with pytest.raises(LookupError):
        async with opened_store(Settings(redis_url=redis_url,
                                         redis_prefix=redis_prefix)) as store:
            assert isinstance(store, RedisStore) and store.prefix == redis_prefix
            assert await store.first_time("event:2", 60)
            raise LookupError("the command failed")
    assert closed == [store]
    async with opened_store(Settings()) as memory:
        assert isinstance(memory, MemoryStore)


async def healthz(settings: Settings, library: PlaybookSet) -> dict[str, object]:
    """`/healthz` of a server built like `serve` builds it; the app closes the store."""
    store = make_store(settings)
    app = build_app(settings, Handler(library, store))
    watch_store(app, store)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        body: dict[str, object] = await response.json()
        return body


async def test_healthz_reports_redis_ok(
    redis_url: str, redis_prefix: str, library: PlaybookSet
) -> None:
    body = await healthz(Settings(redis_url=redis_url, redis_prefix=redis_prefix), library)
    assert body["status"] == "ok"
    assert body["redis"] == "ok"


async def test_healthz_reports_redis_degraded(library: PlaybookSet) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = await healthz(Settings(redis_url=f"redis://127.0.0.1:{port}/0"), library)
    assert body["status"] == "degraded"
    assert str(body["redis"]).startswith("degraded: redis unreachable")


async def test_healthz_names_no_address(library: PlaybookSet,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """Anyone may read `/healthz`: Redis's internal address is for the log only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = await healthz(Settings(redis_url=f"redis://127.0.0.1:{port}/0"), library)
    assert str(body["redis"]).startswith("degraded: redis unreachable")
    assert "127.0.0.1" not in str(body["redis"]) and str(port) not in str(body["redis"])
    assert f"127.0.0.1:{port}" in caplog.text


async def test_healthz_without_redis_has_no_redis_part(library: PlaybookSet) -> None:
    body = await healthz(Settings(), library)
    assert "redis" not in body


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://localhost:6379/0", "store: Redis at redis://localhost:6379/0 (prefix 'touchpoint:')"),
    ("rediss://:secret@cache.example.com:6380/2", "rediss://cache.example.com:6380/2"),
    ("redis://user:secret@[::1]", "redis://[::1]:6379/0"),
    ("unix:///var/run/redis/redis.sock?db=1", "unix:///var/run/redis/redis.sock"),
])
def test_the_start_names_the_redis_store_without_its_password(url: str, shown: str) -> None:
    level, line = store_notice(Settings.from_env({"REDIS_URL": url}))
    assert level == logging.INFO and shown in line and "secret" not in line


def test_the_start_names_sentinels_and_a_cluster_without_the_password() -> None:
    level, line = store_notice(Settings.from_env({
        "REDIS_SENTINELS": "s0:26379,s1:26379", "REDIS_SENTINEL_SERVICE": "mymaster",
        "REDIS_URL": "redis://:secret@ignored/0"}))
    assert level == logging.INFO and "secret" not in line
    assert "'mymaster' through the sentinels s0:26379,s1:26379" in line
    level, line = store_notice(Settings.from_env({
        "REDIS_CLUSTER": "1", "REDIS_URL": "rediss://:secret@node-1.cache:6379"}))
    assert level == logging.INFO and "secret" not in line
    assert "store: Redis Cluster through rediss://node-1.cache:6379/0" in line


def test_the_start_warns_when_state_is_in_memory_only() -> None:
    level, line = store_notice(Settings.from_env({}))
    assert level == logging.WARNING
    assert "memory only" in line and "lost on restart" in line and "REDIS_URL" in line


async def test_serve_says_which_store_and_playbooks_it_uses() -> None:
    async with serving(clean_environment()) as server:
        warning = await wait_for_log(server, r"store: ")
        playbooks = await wait_for_log(server, r"playbooks: \d+ from ")
    assert " WARNING touchpoint.server: store: this process's memory only" in warning
    assert "playbooks: 14 from " in playbooks and playbooks.rstrip().endswith("(./playbooks)")
