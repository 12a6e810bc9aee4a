"""The analytics part of the `Store` contract, against the memory store and a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.redis_store import RedisStore
from adapters.redis_usage import WEEK_TTL
from bot.memory_store import MemoryStore
from bot.store import WEEKS_KEPT, Store

STALL = 0.8
"""Longer than the store's 0.5 s connect timeout, which is about Redis being unreachable."""


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # Timeouts far past any stall of a busy machine: these tests are about what the store
    # keeps; how it fails fast when Redis is gone is tests/adapters/test_redis_store.py's.
    redis_store = RedisStore.from_url(url, prefix=prefix, connect_timeout=30, timeout=30)
    try:
        yield redis_store
    finally:
        await redis_store.close()


async def test_weekly_counters_are_per_week(store: Store) -> None:
    assert await store.incr_week("2024-W05", "guide:renewal") == 1
    assert await store.incr_week("2024-W05", "guide:renewal", 2) == 3
    await store.incr_week("2024-W05", "unmatched")
    await store.incr_week("2024-W06", "guide:renewal")
    assert await store.week_counters("2024-W05") == {"guide:renewal": 3, "unmatched": 1}
    assert await store.week_counters("2024-W06") == {"guide:renewal": 1}
    assert await store.week_counters("2023-W01") == {}
    # The all-time counters are a separate thing.
    assert await store.counters() == {}


async def test_counting_adds_to_the_same_weekly_counter(store: Store) -> None:
    await store.incr_week("2024-W05", "guide:renewal", 2)
    assert await store.incr_counts("2024-W05", "guide:renewal") == (1, 3)
    assert await store.week_counters("2024-W05") == {"guide:renewal": 3}
    assert await store.counters() == {"guide:renewal": 1}


async def test_weekly_counters_add_up_under_concurrency(store: Store) -> None:
    """Forty increments at once, each on a connection of its own, while the process is
    held up as on a busy machine (it once failed there: "Timeout connecting to server")."""
    async def busy_machine() -> None:
        await asyncio.sleep(0)  # the increments are on their way to Redis
        time.sleep(STALL)  # the event loop does not run: as if the process were not scheduled

    await asyncio.gather(*(store.incr_week("2024-W10", "nudge:x") for _ in range(40)),
                         busy_machine())
    assert await store.week_counters("2024-W10") == {"nudge:x": 40}


async def test_questions_are_newest_first_and_capped(store: Store) -> None:
    for n in range(8):
        await store.add_question("2024-W05", f"question {n} ✓", keep=5)
    assert await store.questions("2024-W05", 10) == [f"question {n} ✓" for n in (7, 6, 5, 4, 3)]
    assert await store.questions("2024-W05", 2) == ["question 7 ✓", "question 6 ✓"]
    assert await store.questions("2024-W05", 0) == []
    assert await store.questions("2024-W06", 10) == []


async def test_values(store: Store) -> None:
    assert await store.get_value("playbooks-commit") is None
    await store.set_value("playbooks-commit", "abc123")
    await store.set_value("playbooks-commit", "def456")
    assert await store.get_value("playbooks-commit") == "def456"
    assert await store.get_value("other") is None


async def test_memory_store_forgets_old_weeks() -> None:
    store = MemoryStore()
    for n in range(WEEKS_KEPT + 5):
        week = f"{2000 + n // 50}-W{n % 50 + 1:02d}"
        await store.incr_week(week, "guide:x")
        await store.add_question(week, "why", keep=3)
    assert len(store._weeks) == WEEKS_KEPT and len(store._questions) == WEEKS_KEPT
    assert await store.week_counters("2000-W01") == {}


async def test_redis_weekly_keys_expire(redis_url: str, redis_prefix: str) -> None:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    raw = Redis.from_url(redis_url)
    try:
        await store.incr_week("2024-W05", "share:renewal")
        await store.add_question("2024-W05", "how do I quote a partner", keep=3)
        await store.incr_counts("2024-W07", "guide:renewal")
        for key in (f"{redis_prefix}week:2024-W05", f"{redis_prefix}questions:2024-W05",
                    f"{redis_prefix}week:2024-W07"):
            assert 0 < await raw.ttl(key) <= WEEK_TTL
        assert await raw.ttl(f"{redis_prefix}counters") == -1
        # A damaged entry is skipped, not fatal.
        await raw.hset(f"{redis_prefix}week:2024-W05", "guide:x", "many")
        assert await store.week_counters("2024-W05") == {"share:renewal": 1}
        await raw.set(f"{redis_prefix}value:broken", b"\xff")
        assert await store.get_value("broken") is None
    finally:
        await store.close()
        await raw.aclose()


async def test_redis_questions_expire_after_the_ttl_given(redis_url: str,
                                                          redis_prefix: str) -> None:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    raw = Redis.from_url(redis_url)
    try:
        await store.add_question("2024-W05", "how do I quote a partner", keep=3, ttl=3600)
        assert 3590 < await raw.ttl(f"{redis_prefix}questions:2024-W05") <= 3600
        await store.add_question("2024-W06", "and a reseller", keep=3)
        assert 89 * 86400 < await raw.ttl(f"{redis_prefix}questions:2024-W06") <= 90 * 86400
    finally:
        await store.close()
        await raw.aclose()
