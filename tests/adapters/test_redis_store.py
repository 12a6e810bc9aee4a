"""What only the Redis store has: its key layout, outages, restarts and damaged keys.

The contract it shares with the memory store is in tests/bot/test_store.py.
Outage tests stop a redis-server of their own; time for the store's
reconnect interval is a fake clock moved by hand, never a sleep.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from local_redis import RedisServer
from redis.asyncio import Redis

from adapters import redis_store
from adapters.redis_connection import RedisConnection, int_reply
from adapters.redis_scripts import FIRST_TIME
from adapters.redis_store import MUTE_MEMORY, RedisStore
from adapters.redis_usage import WEEK_TTL
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.matcher import Mode
from bot.memory_store import MemoryStore
from bot.messages import Kind, Message
from bot.store import StoreCorrupt, StoreError, StoreRefused, StoreUnavailable

PREFIX = "tp-test:"

WEEK = "2024-W05"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, to look at and tamper with what the store wrote."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    yield store
    await store.close()


@pytest.fixture
async def private_store(private_redis: RedisServer, clock: Clock) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(private_redis.url, prefix=PREFIX, clock=clock)
    yield store
    await store.close()


@pytest.fixture
async def private_raw(private_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(private_redis.url)
    yield client
    await client.aclose()


def example(library: PlaybookSet, mode: Mode) -> tuple[str, str]:
    """A shipped example the matcher answers in `mode`, and its playbook's id.

    Taken from the playbooks rather than written here, so editing the
    playbooks does not break tests that are about the store.
    """
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            best = library.matcher.match(text, mode).best
            if best is not None:
                return text, best.playbook
    pytest.fail(f"no shipped example matches in {mode} mode")


def message(text: str, kind: Kind = "command", id: str = "", user: str = "U1") -> Message:
    return Message(text=text, user=user, channel="C1", platform="slack", kind=kind, id=id)


async def fill(store: RedisStore) -> None:
    """Some of everything the store keeps."""
    assert await store.first_time("event:slack:Ev1", 3600)
    await store.set_muted("slack:U9", True)
    await store.incr_counts(WEEK, "guide:renewal", 3)
    await store.incr_counts(WEEK, "helpful:renewal")
    await store.save_reference("teams", "19:abc", '{"serviceUrl": "https://smba"}')


async def assert_filled(store: RedisStore) -> None:
    assert not await store.first_time("event:slack:Ev1", 3600)
    assert await store.is_muted("slack:U9")
    assert await store.counters() == {"guide:renewal": 3, "helpful:renewal": 1}
    assert await store.references("teams") == {"19:abc": '{"serviceUrl": "https://smba"}'}


# Key layout


async def test_every_key_is_namespaced_and_every_temporary_key_expires(
    private_store: RedisStore, private_raw: Redis
) -> None:
    await fill(private_store)
    assert await private_store.first_time("cooldown:slack:C1:renewal", 6 * 3600)
    keys = {key.decode() for key in await private_raw.keys("*")}
    assert keys == {
        PREFIX + "once:event:slack:Ev1",
        PREFIX + "once:cooldown:slack:C1:renewal",
        PREFIX + "mute:slack:U9",
        PREFIX + "counters",
        PREFIX + f"week:{WEEK}",
        PREFIX + "refs:teams",
    }
    assert 0 < await private_raw.pttl(PREFIX + "once:event:slack:Ev1") <= 3600 * 1000
    assert 0 < await private_raw.pttl(PREFIX + "once:cooldown:slack:C1:renewal") <= 6 * 3600_000
    assert 0 < await private_raw.ttl(PREFIX + f"week:{WEEK}") <= WEEK_TTL
    for permanent in ("mute:slack:U9", "counters", "refs:teams"):
        assert await private_raw.pttl(PREFIX + permanent) == -1, permanent


async def test_the_key_layout_names_every_kind_of_key_the_store_writes(
    private_store: RedisStore, private_raw: Redis
) -> None:
    """Two versions must agree on the layout during a rolling deploy: it is documented whole."""
    store = private_store
    await fill(store)
    await store.add_question(WEEK, "how do I answer a price objection?", 5)
    await store.add_correction(WEEK, "{}", 5)
    await store.set_value("playbooks-commit", "abc123")
    await store.subscribe("slack", "C1", "{}")
    await store.flag("slack", "C2", "gone")
    await store.set_nudges("slack", "C3", "slack:U1")
    assert await store.pick_prompt("C1", "2024-02-01", ["p1", "p2"]) == "p1"
    assert (await store.claim("prompt:slack:C1", "token", 60, 3600)).state == "mine"
    assert await store.outbox_put("call:gong:1", "{}", 10) == "added"
    await store.reserve("rate:slack", 0.25)
    kinds = {key.decode().removeprefix(PREFIX).split(":")[0]
             for key in await private_raw.keys("*")}
    assert kinds == {"once", "mute", "nudges-off", "counters", "week", "questions",
                     "corrections", "refs", "subs", "flags", "rotation", "claim", "claims",
                     "outbox", "pace", "value"}
    layout = redis_store.__doc__ or ""
    assert [k for k in sorted(kinds) if f"`{k}:" not in layout and f"`{k}`" not in layout] == []


async def test_a_refused_command_and_an_unreadable_reply_are_told_apart(
    store: RedisStore, raw: Redis
) -> None:
    await raw.set(store.prefix + "subs:slack", "not a hash")
    with pytest.raises(StoreRefused, match="WRONGTYPE"):
        await store.subscribe("slack", "C1", "{}")
    with pytest.raises(StoreCorrupt, match="unexpected pacing reply b'soon'"):
        int_reply(b"soon", "pacing")
    assert await store.health() == "ok"


async def test_a_bug_in_a_command_is_not_an_outage(redis_url: str) -> None:
    """Only redis-py's errors become store errors: anything else is left to surface."""
    connection = RedisConnection(Redis.from_url(redis_url), PREFIX)
    try:
        with pytest.raises(ZeroDivisionError):
            await connection.run(lambda client: 1 / 0)
        assert await connection.health() == "ok"
    finally:
        await connection.close()


async def test_two_prefixes_do_not_see_each_other(redis_url: str, redis_prefix: str) -> None:
    one = RedisStore.from_url(redis_url, prefix=redis_prefix + "one:")
    two = RedisStore.from_url(redis_url, prefix=redis_prefix + "two:")
    try:
        await fill(one)
        assert await two.first_time("event:slack:Ev1", 3600)
        assert not await two.is_muted("slack:U9")
        assert await two.counters() == {}
        assert await two.references("teams") == {}
    finally:
        await one.close()
        await two.close()


async def test_instances_sharing_a_redis_share_state(redis_url: str, redis_prefix: str) -> None:
    """What REDIS_URL is for: a retry delivered to another instance is still answered once."""
    one = RedisStore.from_url(redis_url, prefix=redis_prefix)
    two = RedisStore.from_url(redis_url, prefix=redis_prefix)
    try:
        assert await one.first_time("event:slack:Ev7", 60)
        assert not await two.first_time("event:slack:Ev7", 60)
        await one.set_muted("slack:U1", True)
        assert await two.is_muted("slack:U1")
        await two.incr_counts(WEEK, "usage")
        assert await one.incr_counts(WEEK, "usage") == (2, 2)
    finally:
        await one.close()
        await two.close()


async def test_first_time_sets_the_ttl_asked_for(store: RedisStore, raw: Redis) -> None:
    assert await store.first_time("event:a", 90)
    assert await store.first_time("event:b", 7.5)
    assert 0 < await raw.pttl(store.prefix + "once:event:a") <= 90_000
    assert 0 < await raw.pttl(store.prefix + "once:event:b") <= 7_500


async def test_first_time_rejects_a_ttl_that_never_ends(store: RedisStore) -> None:
    with pytest.raises(ValueError):
        await store.first_time("event:a", float("inf"))


async def test_first_time_recognises_its_own_retry(raw: Redis, redis_prefix: str) -> None:
    """A retry after a lost reply sends the same token and must still be told "first"."""
    script = raw.register_script(FIRST_TIME)
    key = redis_prefix + "once:event:lost-reply"
    assert await script(keys=[key], args=["token-1", 60_000]) == 1
    assert await script(keys=[key], args=["token-1", 60_000]) == 1
    assert await script(keys=[key], args=["token-2", 60_000]) == 0


async def test_first_time_gives_a_key_without_ttl_one(store: RedisStore, raw: Redis) -> None:
    key = store.prefix + "once:event:legacy"
    await raw.set(key, "written by hand, no TTL")
    assert not await store.first_time("event:legacy", 60)
    assert 0 < await raw.pttl(key) <= 60_000
    assert await raw.get(key) == b"written by hand, no TTL"


# Damaged keys: read as missing, logged, never deleted


async def test_damaged_mute_keys_read_as_not_muted(
    store: RedisStore, raw: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    p = store.prefix
    await raw.hset(p + "mute:slack:Uhash", "a", "b")
    await raw.set(p + "mute:slack:Utext", "yes please")
    await raw.set(p + "mute:slack:Ubytes", b"\xff\xfe")
    with caplog.at_level(logging.WARNING, "touchpoint.redis"):
        for user in ("slack:Uhash", "slack:Utext", "slack:Ubytes"):
            assert not await store.is_muted(user)
    assert len(caplog.records) == 3
    assert await raw.type(p + "mute:slack:Uhash") == b"hash"
    await store.set_muted("slack:Uhash", True)
    assert await store.is_muted("slack:Uhash")
    assert await store.health() == "ok"


async def test_damaged_counters_are_skipped_and_logged(
    store: RedisStore, raw: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    key = store.prefix + "counters"
    await raw.hset(key, mapping={"guide:a": "2", "guide:bad": "many", b"\xff": "1"})
    with caplog.at_level(logging.WARNING, "touchpoint.redis"):
        assert await store.counters() == {"guide:a": 2}
        with pytest.raises(StoreError):
            await store.incr_counts(WEEK, "guide:bad")
    assert caplog.records
    assert await store.incr_counts(WEEK, "guide:a") == (3, 1)
    assert await raw.hget(key, "guide:bad") == b"many"
    # The week's count does not depend on the all-time one.
    assert await store.week_counters(WEEK) == {"guide:a": 1, "guide:bad": 1}


async def test_counters_of_the_wrong_type(store: RedisStore, raw: Redis) -> None:
    await raw.rpush(store.prefix + "counters", "x")
    assert await store.counters() == {}
    with pytest.raises(StoreError):
        await store.incr_counts(WEEK, "guide:a")
    assert await raw.lrange(store.prefix + "counters", 0, -1) == [b"x"]
    assert await store.week_counters(WEEK) == {"guide:a": 1}


async def test_a_week_of_the_wrong_type_does_not_stop_the_all_time_count(
    store: RedisStore, raw: Redis
) -> None:
    key = store.prefix + f"week:{WEEK}"
    await raw.set(key, "garbage")
    with pytest.raises(StoreError):
        await store.incr_counts(WEEK, "guide:a")
    assert await store.counters() == {"guide:a": 1}
    assert await store.week_counters(WEEK) == {}
    assert await raw.get(key) == b"garbage"
    assert await raw.ttl(key) == -1


async def test_damaged_references_are_skipped(store: RedisStore, raw: Redis) -> None:
    await raw.hset(store.prefix + "refs:teams", mapping={"19:ok": "{}", "19:bad": b"\xc3("})
    assert await store.references("teams") == {"19:ok": "{}"}
    await raw.set(store.prefix + "refs:slack", "not a hash")
    assert await store.references("slack") == {}
    with pytest.raises(StoreError):
        await store.save_reference("slack", "C1", "{}")
    assert await raw.get(store.prefix + "refs:slack") == b"not a hash"


async def test_damaged_keys_do_not_stop_the_handler(
    store: RedisStore, raw: Redis, library: PlaybookSet
) -> None:
    guide_text, _ = example(library, "guide")
    nudge_text, nudged = example(library, "nudge")
    p = store.prefix
    await raw.sadd(p + "mute:slack:U1", "x")
    await raw.set(p + "counters", "garbage")
    await raw.hset(p + f"once:cooldown:slack:C1:{nudged}", "x", "y")
    handler = Handler(library, store)
    expected = await Handler(library, MemoryStore()).handle(message(guide_text))
    assert expected
    assert await handler.handle(message(guide_text, id="Ev1")) == expected
    # The damaged cooldown key still exists, so it still holds the nudge back.
    assert await handler.handle(message(nudge_text, kind="channel", id="Ev2")) == []
    assert await handler.handle(message(nudge_text, kind="channel", user="U2", id="Ev3")) == []
    assert await raw.pttl(p + f"once:cooldown:slack:C1:{nudged}") > 0  # so it heals in time


# Redis down


async def test_redis_down_degrades_and_guidance_still_answers(
    private_redis: RedisServer, private_store: RedisStore, library: PlaybookSet,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guide_text, _ = example(library, "guide")
    nudge_text, _ = example(library, "nudge")
    handler = Handler(library, private_store)
    reference = Handler(library, MemoryStore())
    guide = await reference.handle(message(guide_text))
    nudge = await reference.handle(message(nudge_text, kind="channel", id="ref"))
    assert guide and nudge
    assert await handler.handle(message(guide_text, id="Ev-before")) == guide
    assert await handler.handle(message("lunch?", kind="channel", id="Ev-chatter")) == []
    assert await private_store.health() == "ok"

    private_redis.stop()
    with caplog.at_level(logging.WARNING):
        assert await handler.handle(message(guide_text, id="Ev1")) == guide
        assert await handler.handle(message(guide_text)) == guide
        # Dedupe and cooldown fall back to this process rather than answering every retry.
        assert await handler.handle(message(guide_text, id="Ev1")) == []
        assert await handler.handle(message(guide_text, id="Ev-before")) == []
        assert await handler.handle(message(nudge_text, kind="channel", id="Ev2")) == nudge
        assert await handler.handle(message(nudge_text, kind="channel", id="Ev3")) == []
    health = await private_store.health()
    assert health.startswith("degraded: redis unreachable"), health
    warnings = [r.getMessage() for r in caplog.records if r.name == "touchpoint.redis"]
    assert len(warnings) == 1 and "redis unreachable" in warnings[0]
    assert any("store unavailable" in r.getMessage() for r in caplog.records
               if r.name == "touchpoint.handler")


async def test_redis_down_nobody_who_may_have_muted_the_bot_is_nudged(
    private_redis: RedisServer, private_store: RedisStore, library: PlaybookSet,
    clock: Clock,
) -> None:
    """A muted person got a nudge while Redis was down: the mute read as "not muted".
    Now a mute this instance cannot read is a mute; what Redis said of a person a moment
    before the outage still counts, for `MUTE_MEMORY` seconds."""
    nudge_text, _ = example(library, "nudge")
    other = RedisStore.from_url(private_redis.url, prefix=PREFIX)
    try:
        assert await Handler(library, other).handle(message("mute", user="U2"))
    finally:
        await other.close()
    handler = Handler(library, private_store)
    assert await handler.handle(message("lunch?", kind="channel", id="Ev0")) == []
    private_redis.stop()
    assert await handler.handle(message(nudge_text, kind="channel", user="U2", id="Ev1")) == []
    assert await handler.handle(message(nudge_text, kind="channel", id="Ev2")) != []
    assert not await private_store.is_muted("slack:U1")
    clock.now += MUTE_MEMORY + 1
    with pytest.raises(StoreUnavailable):
        await private_store.is_muted("slack:U1")


@pytest.mark.parametrize("call", [
    lambda s: s.is_muted("slack:U1"),
    lambda s: s.set_muted("slack:U1", True),
    lambda s: s.incr_counts(WEEK, "guide:a"),
    lambda s: s.counters(),
    lambda s: s.save_reference("teams", "19:a", "{}"),
    lambda s: s.drop_reference("teams", "19:a"),
    lambda s: s.references("teams"),
], ids=["is_muted", "set_muted", "incr_counts", "counters", "save_reference", "drop_reference",
        "references"])
async def test_redis_down_other_calls_raise_store_unavailable(
    private_redis: RedisServer, private_store: RedisStore,
    call: Callable[[RedisStore], Awaitable[object]],
) -> None:
    private_redis.stop()
    for _ in range(2):  # first by trying Redis, then at once until the reconnect interval
        with pytest.raises(StoreUnavailable, match="redis unreachable"):
            await call(private_store)


async def assert_degraded_deduplicating_here(store: RedisStore) -> None:
    """Redis out of reach: health says so, and a delivery id is still answered once, by
    this process alone."""
    assert (await store.health()).startswith("degraded: redis unreachable")
    assert await store.first_time("event:1", 60)
    assert not await store.first_time("event:1", 60)


async def test_redis_that_never_answered_degrades(clock: Clock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0", clock=clock)
    try:
        await assert_degraded_deduplicating_here(store)
    finally:
        await store.close()


async def test_redis_that_accepts_but_never_answers_degrades(clock: Clock) -> None:
    """A hung or blackholed Redis: the socket timeout turns it into an outage."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel completes connections nobody will ever read
        port = hung.getsockname()[1]
        store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0", clock=clock,
                                    connect_timeout=0.05, timeout=0.05)
        try:
            assert (await store.health()).startswith("degraded: redis unreachable")
            with pytest.raises(StoreUnavailable):
                await store.is_muted("slack:U1")
            assert await store.first_time("event:1", 60)
            assert not await store.first_time("event:1", 60)
        finally:
            await store.close()


# Redis restarted


@pytest.mark.parametrize("kill", [False, True], ids=["restart", "crash"])
async def test_restart_reconnects_by_itself_and_keeps_everything(
    private_redis: RedisServer, private_store: RedisStore, kill: bool
) -> None:
    await fill(private_store)
    private_redis.restart(kill=kill)
    await assert_filled(private_store)
    assert await private_store.health() == "ok"
    await private_store.set_muted("slack:U9", False)
    assert not await private_store.is_muted("slack:U9")


async def test_store_comes_back_after_an_outage(
    private_redis: RedisServer, private_store: RedisStore, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await fill(private_store)
    private_redis.stop()
    with pytest.raises(StoreUnavailable):
        await private_store.is_muted("slack:U9")
    assert await private_store.first_time("event:during-outage", 60)
    private_redis.start()
    # Within the reconnect interval the store does not wait on Redis again...
    assert (await private_store.health()).startswith("degraded:")
    clock.now += 5
    # ...after it, the next call reconnects, and nothing that was stored is lost.
    with caplog.at_level(logging.WARNING, "touchpoint.redis"):
        assert await private_store.health() == "ok"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    await assert_filled(private_store)
    await private_store.incr_counts(WEEK, "guide:renewal")
    assert (await private_store.counters("guide:"))["guide:renewal"] == 4


async def test_redis_down_a_channel_switched_off_stays_off(
    private_redis: RedisServer, private_store: RedisStore, clock: Clock,
) -> None:
    """As with mutes: what Redis said of a channel a moment ago still counts; a channel it
    never said anything about is unknown, and the handler takes unknown for off."""
    await private_store.set_nudges("slack", "C0OFF", "slack:U1")
    assert not await private_store.nudges_allowed("slack", "C0OFF")
    assert await private_store.nudges_allowed("slack", "C0ON")
    private_redis.stop()
    assert not await private_store.nudges_allowed("slack", "C0OFF")
    assert await private_store.nudges_allowed("slack", "C0ON")
    with pytest.raises(StoreUnavailable):
        await private_store.nudges_allowed("slack", "C0NEVER")
    clock.now += MUTE_MEMORY + 1
    with pytest.raises(StoreUnavailable):
        await private_store.nudges_allowed("slack", "C0ON")
