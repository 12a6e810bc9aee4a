"""The `Store` contract, which every implementation must keep.

Each test runs against the in-memory store and against the Redis store on a
real redis-server, so the two cannot drift apart. Expiry is simulated, not
waited for: the memory store's clock is moved on, and for Redis the test
checks the TTL Redis holds and then removes the key as expiry would.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.redis_store import RedisStore
from bot.memory_store import MemoryStore
from bot.store import Claim, Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A store, plus the one thing the contract cannot ask through it: time passing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def expire(self, key: str, ttl: float) -> None:
        raise NotImplementedError

    async def lapse(self, key: str, ttl: float) -> None:
        """Let a claim's lease of `ttl` seconds run out, and nothing longer-lived."""
        raise NotImplementedError


class MemoryHarness(Harness):
    def __init__(self, clock: Clock) -> None:
        super().__init__(MemoryStore(clock=clock))
        self.clock = clock

    async def expire(self, key: str, ttl: float) -> None:
        self.clock.now += ttl + 1

    async def lapse(self, key: str, ttl: float) -> None:
        self.clock.now += ttl + 0.001


class RedisHarness(Harness):
    def __init__(self, store: RedisStore, raw: Redis) -> None:
        super().__init__(store)
        self.raw = raw
        self.prefix = store.prefix

    async def expire(self, key: str, ttl: float) -> None:
        name = f"{self.prefix}once:{key}"
        remaining = await self.raw.pttl(name)
        assert 0 < remaining <= ttl * 1000, f"{name} should expire within {ttl}s: {remaining}ms"
        await self.raw.delete(name)

    async def lapse(self, key: str, ttl: float) -> None:
        name = f"{self.prefix}claim:{key}"
        remaining = await self.raw.pttl(name)
        assert 0 < remaining <= ttl * 1000, f"{name} should expire within {ttl}s: {remaining}ms"
        await self.raw.delete(name)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def harness(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Harness]:
    if request.param == "memory":
        yield MemoryHarness(clock)
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # Timeouts far past any stall of a busy machine: the contract is about what the store
    # keeps; how it fails fast when Redis is gone is tests/adapters/test_redis_store.py's.
    store = RedisStore.from_url(url, prefix=prefix, connect_timeout=30, timeout=30)
    raw = Redis.from_url(url)
    try:
        yield RedisHarness(store, raw)
    finally:
        await store.close()
        await raw.aclose()


@pytest.fixture
def store(harness: Harness) -> Store:
    return harness.store


async def test_first_time_only_once_until_ttl(harness: Harness) -> None:
    store = harness.store
    assert await store.first_time("event:1", 60)
    assert not await store.first_time("event:1", 60)
    await harness.expire("event:1", 60)
    assert await store.first_time("event:1", 60)
    assert not await store.first_time("event:1", 60)


async def test_first_time_keys_are_independent(store: Store) -> None:
    assert await store.first_time("event:slack:1", 60)
    assert await store.first_time("event:teams:1", 60)
    assert await store.first_time("cooldown:slack:C1:renewal", 60)
    assert not await store.first_time("event:slack:1", 60)


async def test_first_time_with_zero_ttl_remembers_nothing(store: Store) -> None:
    """A cooldown set to 0 switches cooldowns off rather than failing."""
    assert await store.first_time("cooldown:slack:C1:renewal", 0)
    assert await store.first_time("cooldown:slack:C1:renewal", 0)


async def test_first_time_with_fractional_ttl(harness: Harness) -> None:
    assert await harness.store.first_time("event:part", 30.5)
    assert not await harness.store.first_time("event:part", 30.5)
    await harness.expire("event:part", 30.5)
    assert await harness.store.first_time("event:part", 30.5)


async def test_first_time_has_one_winner_among_concurrent_callers(store: Store) -> None:
    answers = await asyncio.gather(*(store.first_time("event:race", 60) for _ in range(25)))
    assert answers.count(True) == 1


async def test_mutes(store: Store) -> None:
    assert not await store.is_muted("slack:U1")
    await store.set_muted("slack:U1", True)
    assert await store.is_muted("slack:U1")
    await store.set_muted("slack:U1", True)
    assert await store.is_muted("slack:U1")
    assert not await store.is_muted("slack:U2")
    assert not await store.is_muted("teams:U1")
    await store.set_muted("slack:U1", False)
    assert not await store.is_muted("slack:U1")
    await store.set_muted("slack:U1", False)
    assert not await store.is_muted("slack:U1")


async def test_mutes_of_any_user_id(store: Store) -> None:
    user = "teams:29:1Ab_ü-Zürich/Ø:*?[x]"
    await store.set_muted(user, True)
    assert await store.is_muted(user)
    assert not await store.is_muted("teams:29:1Ab_ü-Zürich/Ø:*?[y]")


WEEK = "2024-W05"


async def test_counters(store: Store) -> None:
    assert await store.incr_counts(WEEK, "guide:renewal") == (1, 1)
    assert await store.incr_counts(WEEK, "guide:renewal", 2) == (3, 3)
    await store.incr_counts(WEEK, "nudge:renewal")
    assert await store.counters("guide:") == {"guide:renewal": 3}
    # The all-time count goes on; each week's starts again.
    assert await store.incr_counts("2024-W06", "guide:renewal") == (4, 1)
    assert await store.week_counters(WEEK) == {"guide:renewal": 3, "nudge:renewal": 1}
    assert await store.week_counters("2024-W06") == {"guide:renewal": 1}


async def test_counters_listed_in_order_and_filtered(store: Store) -> None:
    assert await store.counters() == {}
    await store.incr_counts(WEEK, "nudge:b")
    await store.incr_counts(WEEK, "guide:z", 5)
    await store.incr_counts(WEEK, "guide:a")
    await store.incr_counts(WEEK, "helpful:a", -1)
    assert list(await store.counters()) == ["guide:a", "guide:z", "helpful:a", "nudge:b"]
    assert await store.counters("guide:") == {"guide:a": 1, "guide:z": 5}
    assert await store.counters("helpful:") == {"helpful:a": -1}
    assert await store.counters("none:") == {}


async def test_counters_add_up_under_concurrency(store: Store) -> None:
    await asyncio.gather(*(store.incr_counts(WEEK, "usage") for _ in range(50)))
    assert await store.counters("usage") == {"usage": 50}
    assert await store.week_counters(WEEK) == {"usage": 50}


async def test_memory_store_stays_bounded(clock: Clock) -> None:
    store = MemoryStore(clock=clock, max_keys=10)
    for n in range(100):
        await store.first_time(f"k{n}", 1)
        clock.now += 2
    assert len(store._expiry) <= 10


async def test_references(store: Store) -> None:
    await store.save_reference("teams", "19:abc", '{"serviceUrl": "http://x"}')
    assert await store.references("teams") == {"19:abc": '{"serviceUrl": "http://x"}'}
    await store.drop_reference("teams", "19:abc")
    await store.drop_reference("teams", "19:never")
    assert await store.references("teams") == {}


async def test_references_are_per_platform_and_replaced(store: Store) -> None:
    await store.save_reference("teams", "19:abc", '{"v": 1}')
    await store.save_reference("teams", "19:abc", '{"v": 2, "name": "Équipe ✓"}')
    await store.save_reference("teams", "19:def", "{}")
    await store.save_reference("slack", "C1", "C1")
    assert await store.references("teams") == {"19:abc": '{"v": 2, "name": "Équipe ✓"}',
                                               "19:def": "{}"}
    assert await store.references("slack") == {"C1": "C1"}
    assert await store.references("console") == {}
    await store.drop_reference("slack", "19:abc")
    assert len(await store.references("teams")) == 2


# The daily prompt: subscriptions, flags, rotation, claims and pacing


async def test_subscriptions(store: Store) -> None:
    assert await store.subscriptions("slack") == {}
    await store.subscribe("slack", "C1", '{"time": "09:00"}')
    await store.subscribe("slack", "C1", '{"time": "10:00"}')
    await store.subscribe("teams", "19:a@thread.tacv2", "{}")
    assert await store.subscriptions("slack") == {"C1": '{"time": "10:00"}'}
    assert list(await store.subscriptions("teams")) == ["19:a@thread.tacv2"]
    assert await store.unsubscribe("slack", "C1")
    assert not await store.unsubscribe("slack", "C1")
    assert await store.subscriptions("slack") == {}


async def test_flags(store: Store) -> None:
    await store.flag("slack", "C1", "not_in_channel")
    await store.flag("teams", "19:x", "403")
    assert await store.flagged("slack") == {"C1": "not_in_channel"}
    await store.unflag("slack", "C1")
    await store.unflag("slack", "C1")
    assert await store.flagged("slack") == {}
    assert await store.flagged("teams") == {"19:x": "403"}


async def test_rotation_shows_every_prompt_before_repeating_one(store: Store) -> None:
    prompts = ["a", "b", "c"]
    days = [f"2024-05-{d:02d}" for d in range(1, 8)]
    picks = [await store.pick_prompt("slack:C1", day, prompts) for day in days]
    assert picks == ["a", "b", "c", "a", "b", "c", "a"]
    assert await store.pick_prompt("slack:C2", days[0], prompts) == "a"


async def test_rotation_gives_one_prompt_per_day(store: Store) -> None:
    first = await store.pick_prompt("slack:C1", "2024-05-01", ["a", "b"])
    again = await asyncio.gather(*(store.pick_prompt("slack:C1", "2024-05-01", ["a", "b"])
                                   for _ in range(10)))
    assert set(again) == {first} == {"a"}


async def test_rotation_follows_edited_prompts(store: Store) -> None:
    assert await store.pick_prompt("slack:C1", "d1", ["a", "b"]) == "a"
    assert await store.pick_prompt("slack:C1", "d1", ["b", "c"]) == "b"
    assert await store.pick_prompt("slack:C1", "d2", ["b", "c", "new"]) == "c"
    assert await store.pick_prompt("slack:C1", "d3", ["b", "c", "new"]) == "new"
    assert await store.pick_prompt("slack:C1", "d4", ["b", "c", "new"]) == "b"
    assert await store.pick_prompt("slack:C1", "d5", []) == ""


async def test_claim_has_one_winner(store: Store) -> None:
    claims = await asyncio.gather(*(store.claim("post:slack:C1:2024-05-01", f"t{n}", 30, 600)
                                    for n in range(20)))
    assert [c.state for c in claims].count("mine") == 1
    assert {c.state for c in claims} == {"mine", "held"}
    assert next(c for c in claims if c.state == "mine").attempt == 1


async def test_claim_again_with_the_same_token_is_still_mine(store: Store) -> None:
    key = "post:slack:C1:2024-05-01"
    assert await store.claim(key, "t1", 30, 600) == Claim("mine", attempt=1)
    assert await store.claim(key, "t1", 30, 600) == Claim("mine", attempt=1)
    assert (await store.claim(key, "t2", 30, 600)).state == "held"


async def test_settled_claims_answer_settled_to_everyone(store: Store) -> None:
    key = "post:slack:C1:2024-05-01"
    await store.claim(key, "t1", 30, 600)
    await store.settle(key, "posted", 600)
    assert await store.claim(key, "t1", 30, 600) == Claim("settled", outcome="posted")
    assert await store.claim(key, "t2", 30, 600) == Claim("settled", outcome="posted")
    assert not await store.renew(key, "t1", 30)
    await store.release(key, "t1")
    assert (await store.claim(key, "t3", 30, 600)).state == "settled"


async def test_a_lapsed_lease_goes_to_the_next_claimer_who_learns_of_it(
        harness: Harness) -> None:
    store, key = harness.store, "post:slack:C1:2024-05-01"
    assert (await store.claim(key, "dead", 5, 600)).attempt == 1
    await harness.lapse(key, 5)
    assert await store.claim(key, "alive", 5, 600) == Claim("mine", attempt=2)
    assert not await store.renew(key, "dead", 5)
    await store.settle(key, "posted", 600)
    assert (await store.claim(key, "dead", 5, 600)).state == "settled"


async def test_renew_keeps_the_lease(harness: Harness) -> None:
    store, key = harness.store, "post:slack:C1:2024-05-01"
    await store.claim(key, "t1", 5, 600)
    assert await store.renew(key, "t1", 50)
    await harness.lapse(key, 50)
    assert await store.claim(key, "t2", 5, 600) == Claim("mine", attempt=2)


async def test_release_lets_another_try_at_once(store: Store) -> None:
    key = "post:slack:C1:2024-05-01"
    await store.claim(key, "t1", 30, 600)
    await store.release(key, "t2")
    assert (await store.claim(key, "t2", 30, 600)).state == "held"
    await store.release(key, "t1")
    assert await store.claim(key, "t2", 30, 600) == Claim("mine", attempt=2)


async def test_reserve_hands_out_slots_one_interval_apart(store: Store) -> None:
    waits = [await store.reserve("slack", 10.0) for _ in range(4)]
    assert waits[0] < 1
    for earlier, later in zip(waits, waits[1:], strict=False):
        assert 9 < later - earlier <= 10.001
    assert await store.reserve("teams", 10.0) < 1


async def test_reserve_after_a_retry_after_does_not_add_to_the_queue(store: Store) -> None:
    assert await store.reserve("slack", 1.0) < 0.5
    assert 0.5 < await store.reserve("slack", 1.0) <= 1.0
    await store.reserve("slack", 0.0, after=0.5)
    assert 1.5 < await store.reserve("slack", 1.0) <= 2.0
    await store.reserve("slack", 0.0, after=10.0)
    assert 9.5 < await store.reserve("slack", 1.0) <= 10.0


async def test_reserve_starts_over_a_slot_further_away_than_longest(store: Store) -> None:
    await store.reserve("slack", 0.0, after=86400.0)
    assert 86000 < await store.reserve("slack", 1.0, longest=math.inf)
    assert await store.reserve("slack", 1.0, longest=600.0) < 1
    assert 0.5 < await store.reserve("slack", 1.0, longest=600.0) <= 1.0


async def test_outbox_keeps_an_entry_until_dropped_and_knows_it_meanwhile(store: Store) -> None:
    assert await store.outbox_put("call:hook:1", '{"n": 1}', 10) == "added"
    assert await store.outbox_put("call:hook:1", '{"n": 1, "again": true}', 10) == "known"
    assert await store.outbox_put("call:hook:2", '{"n": 2}', 10) == "added"
    assert await store.outbox(10) == {"call:hook:1": '{"n": 1}', "call:hook:2": '{"n": 2}'}
    assert len(await store.outbox(1)) == 1
    await store.outbox_drop("call:hook:1")
    assert await store.outbox(10) == {"call:hook:2": '{"n": 2}'}


async def test_outbox_recognises_a_key_whose_claim_is_settled(store: Store) -> None:
    assert (await store.claim("call:gong:7", "t1", 30, 600)).state == "mine"
    await store.settle("call:gong:7", "posted", 600)
    assert await store.outbox_put("call:gong:7", "{}", 10) == "known"
    assert await store.outbox(10) == {}
    assert (await store.claim("call:gong:8", "t1", 30, 600)).state == "mine"
    assert await store.outbox_put("call:gong:8", "{}", 10) == "added"  # a lease is no outcome


async def test_outbox_refuses_beyond_its_limit(store: Store) -> None:
    assert [await store.outbox_put(f"k{n}", "{}", 2) for n in range(3)] == \
        ["added", "added", "full"]
    assert len(await store.outbox(10)) == 2


async def test_channel_nudge_switches_are_kept_per_platform(store: Store) -> None:
    assert await store.nudges_allowed("slack", "C1")
    await store.set_nudges("slack", "C1", "slack:U1")
    assert not await store.nudges_allowed("slack", "C1")
    assert await store.nudges_allowed("teams", "C1")
    assert await store.nudges_allowed("slack", "C2")
    assert await store.nudges_off("slack") == {"C1": "slack:U1"}
    await store.set_nudges("slack", "C1", "")
    assert await store.nudges_allowed("slack", "C1")
    assert await store.nudges_off("slack") == {}
    await store.set_nudges("slack", "C1", "")  # on twice is still on
    assert await store.nudges_off("slack") == {}
