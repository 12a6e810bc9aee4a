"""The Redis store over TLS (`rediss://`), against a real redis-server that speaks TLS only.

Managed Redis services (Heroku Redis, ElastiCache with in-transit encryption,
Azure Cache for Redis, Upstash) are reached this way. The server here has a
throwaway CA made by the test (tests/local_redis.py); its URL trusts that CA
through `?ssl_ca_certs=`. A client that does not trust it must be refused with
the reason, and the store must degrade as in any other outage, not crash.
"""

from __future__ import annotations

import logging
import signal
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import redis
from live_support import copy_playbooks
from local_redis import RedisServer, make_certificates
from redis.asyncio import Redis
from serve_process import Instance, clean_environment, start
from test_redis_store import (
    Clock,
    assert_degraded_deduplicating_here,
    assert_filled,
    example,
    fill,
    message,
)

from adapters.redis_store import RedisStore
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.store import StoreUnavailable
from touchpoint.settings import Settings, SettingsError

VERIFY_FAILED = "certificate verify failed"


def tls_url(server: RedisServer, query: str = "") -> str:
    """The server's `rediss://` URL with `query` instead of the one that trusts its CA."""
    return f"rediss://127.0.0.1:{server.port}/0" + (f"?{query}" if query else "")


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own; the TLS server is the tests' alone and thrown away."""
    return f"touchpoint-tls-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def tls_store(tls_redis: RedisServer, prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(tls_redis.url, prefix=prefix)
    yield store
    await store.close()


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A CA of another throwaway authority, which did not sign the server's certificate."""
    return make_certificates(tmp_path / "other").ca


# The store over TLS


async def test_the_store_keeps_everything_over_tls(tls_redis: RedisServer,
                                                   tls_store: RedisStore) -> None:
    assert tls_redis.url.startswith("rediss://")
    assert await tls_store.health() == "ok"
    await fill(tls_store)
    await assert_filled(tls_store)
    await tls_store.set_muted("slack:U9", False)
    assert not await tls_store.is_muted("slack:U9")
    assert await tls_store.incr_week("2026-W48", "guide:renewal", 2) == 2
    assert await tls_store.week_counters("2026-W48") == {"guide:renewal": 2}
    await tls_store.add_question("2026-W48", "how do I say no to a discount?", keep=5)
    assert await tls_store.questions("2026-W48", 5) == ["how do I say no to a discount?"]
    await tls_store.set_value("playbooks-commit", "abc123")
    assert await tls_store.get_value("playbooks-commit") == "abc123"
    await tls_store.subscribe("slack", "C1", '{"time": "09:00"}')
    assert await tls_store.subscriptions("slack") == {"C1": '{"time": "09:00"}'}
    assert await tls_store.pick_prompt("C1", "2026-11-24", ["a", "b"]) in ("a", "b")
    assert (await tls_store.claim("prompt:C1", "token-1", 60, 3600)).state == "mine"
    assert (await tls_store.claim("prompt:C1", "token-2", 60, 3600)).state == "held"
    await tls_store.settle("prompt:C1", "posted", 3600)
    assert (await tls_store.claim("prompt:C1", "token-2", 60, 3600)).outcome == "posted"
    assert await tls_store.reserve("slack", 10.0) < 1
    assert 9 < await tls_store.reserve("slack", 10.0) <= 10
    assert await tls_store.health() == "ok"


async def test_instances_share_state_over_tls(tls_redis: RedisServer, prefix: str,
                                              library: PlaybookSet) -> None:
    """Two instances on one TLS Redis: a redelivered event is answered once, by either."""
    guide_text, _ = example(library, "guide")
    expected = await Handler(library, MemoryStore()).handle(message(guide_text))
    assert expected
    one = RedisStore.from_url(tls_redis.url, prefix=prefix)
    two = RedisStore.from_url(tls_redis.url, prefix=prefix)
    try:
        assert await Handler(library, one).handle(message(guide_text, id="Ev1")) == expected
        assert await Handler(library, two).handle(message(guide_text, id="Ev1")) == []
        await one.set_muted("slack:U1", True)
        assert await two.is_muted("slack:U1")
    finally:
        await one.close()
        await two.close()


async def test_cert_reqs_none_connects_without_the_ca(tls_redis: RedisServer,
                                                      prefix: str) -> None:
    """`?ssl_cert_reqs=none`, for providers with self-signed certificates: encrypted, unchecked."""
    store = RedisStore.from_url(tls_url(tls_redis, "ssl_cert_reqs=none"), prefix=prefix)
    try:
        assert await store.health() == "ok"
        assert await store.incr_counts("2026-W48", "guide:renewal") == (1, 1)
    finally:
        await store.close()


# A client that does not trust the server's CA


@pytest.fixture(params=["system CAs", "another CA"])
def untrusting_url(request: pytest.FixtureRequest, tls_redis: RedisServer) -> str:
    """The server's URL without its CA: the system's trust store, or another authority's CA."""
    if request.param == "system CAs":
        return tls_url(tls_redis)
    other: Path = request.getfixturevalue("other_ca")
    return tls_url(tls_redis, f"ssl_ca_certs={quote(str(other))}")


async def test_a_client_that_does_not_trust_the_ca_is_refused(untrusting_url: str) -> None:
    client = Redis.from_url(untrusting_url)
    try:
        with pytest.raises(redis.ConnectionError, match=VERIFY_FAILED) as refused:
            await client.ping()
    finally:
        await client.aclose()
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert isinstance(refused.value.__context__, ssl.SSLCertVerificationError)


async def test_a_store_that_does_not_trust_the_ca_degrades_and_says_why(
    untrusting_url: str, library: PlaybookSet, caplog: pytest.LogCaptureFixture
) -> None:
    guide_text, _ = example(library, "guide")
    expected = await Handler(library, MemoryStore()).handle(message(guide_text))
    clock = Clock()
    store = RedisStore.from_url(untrusting_url, clock=clock)
    try:
        with caplog.at_level(logging.WARNING):
            health = await store.health()
            assert health.startswith("degraded: redis unreachable"), health
            assert VERIFY_FAILED in health
            with pytest.raises(StoreUnavailable, match=VERIFY_FAILED):
                await store.is_muted("slack:U1")
            # Guidance still answers; dedupe falls back to this process.
            handler = Handler(library, store)
            assert await handler.handle(message(guide_text, id="Ev1")) == expected
            assert await handler.handle(message(guide_text, id="Ev1")) == []
            clock.now += 5  # past the reconnect interval: it tries again, and is refused again
            assert VERIFY_FAILED in await store.health()
    finally:
        await store.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "touchpoint.redis"]
    assert len(warnings) == 1 and VERIFY_FAILED in warnings[0], warnings


async def test_a_plain_redis_url_on_the_tls_port_degrades(tls_redis: RedisServer) -> None:
    """`redis://` where `rediss://` was meant: the server drops the connection."""
    store = RedisStore.from_url(f"redis://127.0.0.1:{tls_redis.port}/0", clock=Clock())
    try:
        await assert_degraded_deduplicating_here(store)
    finally:
        await store.close()


# touchpoint serve with REDIS_URL=rediss://...


async def serve(tmp_path: Path, redis_url: str, prefix: str) -> Instance:
    env = clean_environment()
    env.update(REDIS_URL=redis_url, TOUCHPOINT_REDIS_PREFIX=prefix,
               TOUCHPOINT_PLAYBOOKS=str(copy_playbooks(tmp_path / "playbooks")),
               TOUCHPOINT_WATCH_INTERVAL="0", TOUCHPOINT_LOG_LEVEL="INFO")
    return await start(env)


async def healthz(instance: Instance) -> dict[str, object]:
    async with aiohttp.ClientSession() as http, http.get(instance.url + "/healthz") as resp:
        assert resp.status == 200
        body: dict[str, object] = await resp.json()
        return body


async def stop(instance: Instance) -> None:
    instance.proc.send_signal(signal.SIGTERM)
    assert await instance.proc.wait() == 0, instance.log
    if instance.follower is not None:
        await instance.follower
    assert "Traceback" not in instance.log, instance.log


async def test_serve_with_a_rediss_url_reports_redis_ok(
    tmp_path: Path, tls_redis: RedisServer, prefix: str
) -> None:
    instance = await serve(tmp_path, tls_redis.url, prefix)
    try:
        assert await healthz(instance) == {"status": "ok", "playbooks": 3, "redis": "ok"}
    finally:
        await stop(instance)


async def test_serve_that_does_not_trust_the_ca_serves_degraded(
    tmp_path: Path, tls_redis: RedisServer, other_ca: Path, prefix: str
) -> None:
    url = tls_url(tls_redis, f"ssl_ca_certs={quote(str(other_ca))}")
    instance = await serve(tmp_path, url, prefix)
    try:
        body = await healthz(instance)
        assert body["status"] == "degraded"
        assert str(body["redis"]).startswith("degraded: redis unreachable")
        assert VERIFY_FAILED in str(body["redis"])
    finally:
        await stop(instance)
    assert VERIFY_FAILED in instance.log


# REDIS_URL in the settings


def test_settings_accept_rediss_urls(tls_redis: RedisServer) -> None:
    assert tls_redis.tls is not None
    for url in (tls_redis.url, tls_url(tls_redis, "ssl_cert_reqs=none"),
                tls_url(tls_redis, f"ssl_cert_reqs=required&ssl_ca_certs={tls_redis.tls.ca}"),
                "rediss://default:secret@my-redis.example.com:6380/0"):
        assert Settings.from_env({"REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize("url, problem", [
    ("rediss://:secret@h:6380/0?ssl_cert_reqs=CERT_NONE",
     "ssl_cert_reqs='CERT_NONE': must be one of none, optional, required"),
    ("redis://:secret@h:6379/0?ssl_cert_reqs=none", "TLS options (ssl_cert_reqs) need a rediss://"),
    ("rediss://:secret@h:6380/0?ssl_ca_certs=/no/such/ca.pem",
     "ssl_ca_certs='/no/such/ca.pem': no such file"),
    ("rediss://:secret@h:6380/0?ssl_certfile=/no/such/client.pem",
     "ssl_certfile='/no/such/client.pem': no such file"),
    ("rediss://:secret@h:6380/0?db=one", "Invalid value for 'db'"),
    ("rediss://:secret@h:6380/one", "the path must be a database number"),
    ("rediss://:secret@h:6380/0?ssl_verify=yes", "unknown option 'ssl_verify'"),
    ("rediss://:secret@:6380/0", "rediss:// needs a host"),
], ids=["cert-reqs", "tls-option-on-redis", "no-ca-file", "no-cert-file", "db", "path",
        "unknown-option", "no-host"])
def test_settings_name_what_is_wrong_with_a_rediss_url(url: str, problem: str) -> None:
    """At start, not at the first command; never echoing the password."""
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"REDIS_URL": url})
    assert problem in str(error.value)
    assert "secret" not in str(error.value)
