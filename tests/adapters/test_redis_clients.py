"""The store on the Redis topologies managed offerings run: a Cluster, and Sentinel failover.

Real processes (tests/local_redis.py): three `--cluster-enabled` nodes joined with
`redis-cli --cluster create`; a primary, its replica and three sentinels, the primary
then SIGKILLed. What matters is that every multi-key script keeps working (one hash
slot per script), that prefixes still keep deployments apart, and that after a
failover the store finds the new primary by itself with what was replicated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from local_redis import ClusterNodes, SentinelGroup
from test_redis_store import WEEK, assert_filled, fill

from adapters.redis_clients import RedisTarget
from adapters.redis_connection import SLOTS
from adapters.redis_store import RedisStore


@pytest.fixture
def prefix() -> str:
    return f"tp-topology:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def cluster_store(redis_cluster: ClusterNodes, prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_target(RedisTarget(url=redis_cluster.url, cluster=True), prefix)
    yield store
    await store.close()


async def use_everything(store: RedisStore) -> None:
    """Every store method once, the multi-key scripts among them."""
    await fill(store)
    assert await store.incr_week(WEEK, "prompts") == 1
    await store.add_question(WEEK, "how do I price a renewal?", keep=5)
    await store.add_correction(WEEK, '{"fits": "renewal"}', keep=5)
    await store.set_value("playbooks-commit", "abc123")
    await store.subscribe("slack", "C1", "{}")
    await store.flag("slack", "C2", "not_in_channel")
    assert await store.pick_prompt("C1", "2026-12-03", ["a", "b"]) == "a"
    claim = await store.claim("prompt:slack:C1:2026-12-03", "t1", 10, 100)
    assert (claim.state, claim.attempt) == ("mine", 1)
    assert await store.renew("prompt:slack:C1:2026-12-03", "t1", 10)
    assert (await store.claim("prompt:slack:C1:2026-12-03", "t2", 10, 100)).state == "held"
    await store.settle("prompt:slack:C1:2026-12-03", "posted", 100)
    assert await store.outbox_put("call:gong:1", '{"n": 1}', 10) == "added"
    assert await store.outbox_put("call:gong:1", '{"n": 1}', 10) == "known"
    assert await store.outbox_put("prompt:slack:C1:2026-12-03", "{}", 10) == "known"
    assert await store.outbox(10) == {"call:gong:1": '{"n": 1}'}
    assert await store.reserve("slack", 0.5) == 0.0


async def test_every_method_works_on_a_cluster(cluster_store: RedisStore) -> None:
    await use_everything(cluster_store)
    await assert_filled(cluster_store)
    assert await cluster_store.week_counters(WEEK) == {"guide:renewal": 3, "helpful:renewal": 1,
                                                       "prompts": 1}
    assert await cluster_store.questions(WEEK, 5) == ["how do I price a renewal?"]
    assert await cluster_store.corrections(WEEK, 5) == ['{"fits": "renewal"}']
    assert await cluster_store.get_value("playbooks-commit") == "abc123"
    await cluster_store.outbox_drop("call:gong:1")
    assert await cluster_store.outbox(10) == {}
    assert await cluster_store.health() == "ok"


async def test_each_script_keeps_its_keys_in_one_slot_and_the_rest_spread(
        cluster_store: RedisStore, redis_cluster: ClusterNodes, prefix: str) -> None:
    await use_everything(cluster_store)
    keys = [k for k in redis_cluster.keys() if k.startswith(prefix)]
    with redis.Redis.from_url(redis_cluster.url) as client:
        slots = {k: client.cluster("keyslot", k) for k in keys}
    tagged = {tag: {slots[k] for k in keys if k.startswith(f"{prefix}{{{tag}}}:")}
              for tag in set(SLOTS.values())}
    assert {tag: len(found) for tag, found in tagged.items()} == {"stats": 1, "claims": 1}
    assert {k.removeprefix(prefix) for k in keys} >= {
        "{stats}:counters", f"{{stats}}:week:{WEEK}", "{claims}:outbox",
        "{claims}:claim:prompt:slack:C1:2026-12-03", "{claims}:claims:prompt:slack:C1:2026-12-03",
        "once:event:slack:Ev1", "mute:slack:U9", "refs:teams"}
    assert len(set(slots.values())) > 3, "keys outside a script's family go anywhere"


async def test_two_prefixes_do_not_see_each_other_on_a_cluster(
        redis_cluster: ClusterNodes, prefix: str) -> None:
    target = RedisTarget(url=redis_cluster.url, cluster=True)
    one, two = (RedisStore.from_target(target, prefix + name) for name in ("one:", "two:"))
    try:
        await use_everything(one)
        assert await two.first_time("event:slack:Ev1", 3600)
        assert await two.counters() == {}
        assert await two.outbox(10) == {}
        assert (await two.claim("prompt:slack:C1:2026-12-03", "t9", 10, 100)).state == "mine"
        ours = [k for k in redis_cluster.keys() if prefix in k]
        assert ours and all(k.startswith((prefix + "one:", prefix + "two:")) for k in ours)
    finally:
        await one.close()
        await two.close()


def test_a_cluster_prefix_cannot_move_the_hash_tags(redis_cluster: ClusterNodes) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        RedisStore.from_target(RedisTarget(url=redis_cluster.url, cluster=True), "tp{x}:")


async def test_sentinel_finds_the_primary_and_the_promoted_replica_after_a_kill(
        sentinel_group: SentinelGroup, prefix: str) -> None:
    """The database comes from REDIS_URL, whose host is not used; what was replicated
    before the kill is all there on the new primary."""
    target = RedisTarget(url="redis://ignored.invalid:1/3",
                         sentinels=tuple(sentinel_group.addresses),
                         service=sentinel_group.service)
    store = RedisStore.from_target(target, prefix)
    try:
        await fill(store)
        with redis.Redis(port=sentinel_group.primary.port, db=3) as primary:
            assert primary.exists(prefix + "counters")
            assert primary.wait(1, 0) == 1  # replicated: what a failover keeps
        promoted = sentinel_group.kill_primary()
        assert promoted is sentinel_group.replica
        while await store.health() != "ok":  # the sentinels' timers bound this
            await asyncio.sleep(0.05)
        await assert_filled(store)
        await store.incr_counts(WEEK, "after")
        with redis.Redis(port=promoted.port, db=3) as client:
            assert client.hget(prefix + "counters", "after") == b"1"
    finally:
        await store.close()
