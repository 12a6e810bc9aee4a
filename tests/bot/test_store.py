"""The `Store` contract, which every implementation must keep."""

from __future__ import annotations

import pytest

from bot.store import MemoryStore, Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Store:
    return MemoryStore(clock=clock)


async def test_first_time_only_once_until_ttl(store: Store, clock: Clock) -> None:
    assert await store.first_time("event:1", 60)
    assert not await store.first_time("event:1", 60)
    clock.now += 61
    assert await store.first_time("event:1", 60)


async def test_mutes(store: Store) -> None:
    assert not await store.is_muted("slack:U1")
    await store.set_muted("slack:U1", True)
    assert await store.is_muted("slack:U1")
    await store.set_muted("slack:U1", False)
    assert not await store.is_muted("slack:U1")


async def test_counters(store: Store) -> None:
    assert await store.incr("guide:renewal") == 1
    assert await store.incr("guide:renewal", 2) == 3
    await store.incr("nudge:renewal")
    assert await store.counters("guide:") == {"guide:renewal": 3}


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
