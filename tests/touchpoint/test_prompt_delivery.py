"""The daily prompt's one path to a channel (claim, post, settle) against the fake Slack API.

Instances are `PromptDelivery`s sharing one store; the store's clock is moved by hand
where a lease has to lapse, so nothing here waits for one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from fakes.slack_api import FakeSlackAPI
from helpers import Clock
from live_support import three_instances_stores
from prompt_support import FAST, NOW, delivery, job
from redis.asyncio import Redis

from adapters.redis_store import RedisStore
from adapters.slack.outbound import EVENT_TYPE, SlackOutbound
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.prompts import INVITATION, prompt_pool, prompt_reply
from bot.store import StoreUnavailable
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import PromptSettings, due_jobs


async def test_one_post_with_the_prompt_and_the_invitation(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    first = delivery(store, outbound, library)
    assert await first.post(job("C0PROMPT1")) == "posted"
    assert await first.post(job("C0PROMPT1")) == "already"
    assert await delivery(store, outbound, library).post(job("C0PROMPT1")) == "already"
    (call,) = slack_api.delivered()
    text = " ".join(b["text"]["text"] for b in call.body["blocks"] if "text" in b)
    assert "Brand promise of the day" in text and INVITATION in text
    assert call.body["metadata"] == {"event_type": EVENT_TYPE,
                                     "event_payload": {"mark": job("C0PROMPT1").key}}
    prompts = {p for pb in library.playbooks for p in pb.prompts}
    assert any(p in call.body["text"] for p in prompts)


async def test_rotation_shows_a_new_prompt_each_day(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    sender = delivery(MemoryStore(), outbound, library)
    for back in range(5):
        assert await sender.post(job("C0PROMPT1", NOW - dt.timedelta(days=back))) == "posted"
    texts = [c.body["text"] for c in slack_api.delivered()]
    assert len(set(texts)) == 5


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_instances_racing_post_each_channel_once(
        request: pytest.FixtureRequest, backend: str, slack_api: FakeSlackAPI,
        outbound: SlackOutbound, library: PlaybookSet) -> None:
    channels = [f"C0RACE{n:04d}" for n in range(30)]
    async with three_instances_stores(request, backend) as stores:
        deliveries = [delivery(s, outbound, library) for s in stores]
        outcomes = await asyncio.gather(*(p.post(job(c)) for c in channels for p in deliveries))
    assert sorted(c.body["channel"] for c in slack_api.delivered()) == channels
    assert outcomes.count("posted") == len(channels)
    assert set(outcomes) <= {"posted", "held", "already"}


async def test_a_429_is_waited_out_as_slack_asks(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.ratelimit("chat.postMessage", retry_after="1")
    with caplog.at_level(logging.WARNING, "touchpoint.prompts"):
        assert await delivery(MemoryStore(), outbound, library).post(job("C0LIMIT01")) == "posted"
    first, second = slack_api.calls("chat.postMessage")
    assert first.status == 429 and second.ok
    assert "ratelimited; retry 1 in 1.0 s" in caplog.text


async def test_transient_failures_are_retried_a_bounded_number_of_times(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    slack_api.server_error("chat.postMessage", times=1)
    assert await delivery(store, outbound, library).post(job("C0FLAKY01")) == "posted"
    slack_api.reset()
    slack_api.server_error("chat.postMessage", times=FAST.attempts)
    assert await delivery(store, outbound, library).post(job("C0FLAKY02")) == "retry"
    assert len(slack_api.calls("chat.postMessage")) == FAST.attempts
    # The claim was released; the next attempt looks in the channel first, then posts.
    assert await delivery(store, outbound, library).post(job("C0FLAKY02")) == "posted"
    assert [c.method for c in slack_api.calls()][-2:] == ["conversations.history",
                                                         "chat.postMessage"]


async def test_a_permanent_failure_flags_the_channel_and_is_not_retried(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    slack_api.fail("chat.postMessage", "not_in_channel", channel="C0GONE001")
    assert await delivery(store, outbound, library).post(job("C0GONE001")) == "gone"
    assert await store.flagged("slack") == {"C0GONE001": "not_in_channel"}
    assert await delivery(store, outbound, library).post(job("C0GONE001")) == "already"
    assert len(slack_api.calls("chat.postMessage")) == 1
    jobs = due_jobs([job("C0GONE001").sub, job("C0OTHER01").sub], NOW, 60,
                    flagged=["slack:C0GONE001"])
    assert [j.sub.channel for j in jobs] == ["C0OTHER01"]


async def test_a_flag_written_while_the_store_blinks_is_retried_not_lost(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    """Redis restarting just as Slack answers not_in_channel: the flag waits it out."""
    store = BlinkingStore(misses=2)
    slack_api.fail("chat.postMessage", "not_in_channel", channel="C0GONE002")
    assert await delivery(store, outbound, library).post(job("C0GONE002")) == "gone"
    assert store.missed == 2
    assert await store.flagged("slack") == {"C0GONE002": "not_in_channel"}


class BlinkingStore(MemoryStore):
    """A store whose first `misses` flag writes fail as Redis's would while it restarts."""

    def __init__(self, misses: int) -> None:
        super().__init__()
        self.misses, self.missed = misses, 0

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        if self.missed < self.misses:
            self.missed += 1
            raise StoreUnavailable("redis unreachable")
        await super().flag(platform, channel, reason)


@pytest.mark.parametrize("landed", [True, False])
async def test_an_instance_that_died_midway_is_taken_over_without_a_double_post(
        landed: bool, slack_api: FakeSlackAPI, outbound: SlackOutbound,
        library: PlaybookSet) -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    dying = job("C0CRASH01")
    assert (await store.claim(dying.key, "dead-instance", FAST.lease, FAST.keep)).state == "mine"
    if landed:  # it posted, then died before recording it
        reply = prompt_reply(prompt_pool(library.playbooks)[0])
        assert (await outbound.send("C0CRASH01", reply, dying.key)).outcome == "posted"
    survivor = delivery(store, outbound, library)
    assert await survivor.post(dying) == "held"
    clock.now += FAST.lease + 1
    assert await survivor.post(dying) == ("already" if landed else "posted")
    assert len(slack_api.delivered("C0CRASH01")) == 1
    assert await survivor.post(dying) == "already"


async def test_giving_up_after_too_many_claims(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    settings = PromptSettings(rate=500, channel_interval=0.01, lease=5, attempts=1, max_claims=2)
    store = MemoryStore()
    slack_api.server_error("chat.postMessage", times=10)
    sender = delivery(store, outbound, library, settings)
    assert [await sender.post(job("C0NEVER01")) for _ in range(3)] == ["retry", "retry", "failed"]
    assert await sender.post(job("C0NEVER01")) == "already"
    assert len(slack_api.calls("chat.postMessage")) == 2


async def test_a_hostile_pace_in_redis_is_started_over_not_waited_for(
        redis_url: str, redis_prefix: str, slack_api: FakeSlackAPI, outbound: SlackOutbound,
        library: PlaybookSet, caplog: pytest.LogCaptureFixture) -> None:
    """A slot a day away, written into the shared pace key, held every prompt back 24 h."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    store = RedisStore.from_url(redis_url, redis_prefix)
    raw = Redis.from_url(redis_url)
    try:
        seconds, micros = await raw.time()
        await raw.set(f"{redis_prefix}pace:rate:slack", str((seconds + 86400) * 10**6 + micros))
        posting = PromptDelivery(store, {"slack": outbound}, lambda: library.playbooks, FAST,
                                 sleep=sleep)
        with caplog.at_level(logging.WARNING):
            assert await posting.post(job("C0PACED01")) == "posted"
            assert await posting.post(job("C0PACED02")) == "posted"
        stored = int(await raw.get(f"{redis_prefix}pace:rate:slack") or 0)
    finally:
        await raw.aclose()
        await store.close()
    assert waits and max(waits) <= FAST.longest_wait, waits
    assert stored < (seconds + FAST.longest_wait) * 10**6
    [warning] = [r.getMessage() for r in caplog.records if "damaged key" in r.getMessage()]
    assert f"{redis_prefix}pace:rate:slack held a slot further away" in warning
