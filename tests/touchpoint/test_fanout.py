"""The daily prompt's one path to a channel (claim, post, settle) against the fake Slack API.

Instances are `Poster`s sharing one store; the store's clock is moved by hand
where a lease has to lapse, so nothing here waits for one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlackAPI
from live_support import three_instances_stores
from redis.asyncio import Redis

from adapters.redis_store import RedisStore
from adapters.slack_outbound import EVENT_TYPE, SlackOutbound
from adapters.slack_web import web_client
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import Reply
from bot.prompts import INVITATION, prompt_pool, prompt_reply
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store
from touchpoint import scheduler
from touchpoint.fanout import (
    FanoutSettings,
    Job,
    Poster,
    chat_subscriptions,
    due_jobs,
    flagged_keys,
    next_runs,
)
from touchpoint.scheduler import Fanout, PromptScheduler
from touchpoint.settings import Settings

TOKEN = "xoxb-1111-2222-fakefakefake"
FAST = FanoutSettings(rate=500, channel_interval=0.01, lease=5, grace=3600, workers=4)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def job(channel: str, at: dt.datetime = NOW) -> Job:
    sub = Subscription("slack", channel, at.time(), "UTC", EVERY_DAY)
    return Job(sub, at.date(), at)


@pytest.fixture
async def outbound(slack_api: FakeSlackAPI) -> AsyncIterator[SlackOutbound]:
    sender = SlackOutbound(web_client(TOKEN, slack_api.url), timeout=2, owns_client=True)
    yield sender
    await sender.close()


def poster(store: Store, outbound: SlackOutbound, library: PlaybookSet,
           settings: FanoutSettings = FAST) -> Poster:
    return Poster(store, {"slack": outbound}, lambda: library.playbooks, settings)


async def test_one_post_with_the_prompt_and_the_invitation(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    first = poster(store, outbound, library)
    assert await first.post(job("C0PROMPT1")) == "posted"
    assert await first.post(job("C0PROMPT1")) == "already"
    assert await poster(store, outbound, library).post(job("C0PROMPT1")) == "already"
    (call,) = slack_api.delivered()
    text = " ".join(b["text"]["text"] for b in call.body["blocks"] if "text" in b)
    assert "Brand promise of the day" in text and INVITATION in text
    assert call.body["metadata"] == {"event_type": EVENT_TYPE,
                                     "event_payload": {"mark": job("C0PROMPT1").key}}
    prompts = {p for pb in library.playbooks for p in pb.prompts}
    assert any(p in call.body["text"] for p in prompts)


async def test_rotation_shows_a_new_prompt_each_day(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    sender = poster(MemoryStore(), outbound, library)
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
        posters = [poster(s, outbound, library) for s in stores]
        outcomes = await asyncio.gather(*(p.post(job(c)) for c in channels for p in posters))
    assert sorted(c.body["channel"] for c in slack_api.delivered()) == channels
    assert outcomes.count("posted") == len(channels)
    assert set(outcomes) <= {"posted", "held", "already"}


async def test_a_429_is_waited_out_as_slack_asks(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.ratelimit("chat.postMessage", retry_after="1")
    with caplog.at_level(logging.WARNING, "touchpoint.prompts"):
        assert await poster(MemoryStore(), outbound, library).post(job("C0LIMIT01")) == "posted"
    first, second = slack_api.calls("chat.postMessage")
    assert first.status == 429 and second.ok
    assert "ratelimited; retry 1 in 1.0 s" in caplog.text


async def test_transient_failures_are_retried_a_bounded_number_of_times(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    slack_api.server_error("chat.postMessage", times=1)
    assert await poster(store, outbound, library).post(job("C0FLAKY01")) == "posted"
    slack_api.reset()
    slack_api.server_error("chat.postMessage", times=FAST.attempts)
    assert await poster(store, outbound, library).post(job("C0FLAKY02")) == "retry"
    assert len(slack_api.calls("chat.postMessage")) == FAST.attempts
    # The claim was released; the next attempt looks in the channel first, then posts.
    assert await poster(store, outbound, library).post(job("C0FLAKY02")) == "posted"
    assert [c.method for c in slack_api.calls()][-2:] == ["conversations.history",
                                                         "chat.postMessage"]


async def test_a_permanent_failure_flags_the_channel_and_is_not_retried(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    slack_api.fail("chat.postMessage", "not_in_channel", channel="C0GONE001")
    assert await poster(store, outbound, library).post(job("C0GONE001")) == "gone"
    assert await store.flagged("slack") == {"C0GONE001": "not_in_channel"}
    assert await poster(store, outbound, library).post(job("C0GONE001")) == "already"
    assert len(slack_api.calls("chat.postMessage")) == 1
    jobs = due_jobs([job("C0GONE001").sub, job("C0OTHER01").sub], NOW, 60,
                    flagged=["slack:C0GONE001"])
    assert [j.sub.channel for j in jobs] == ["C0OTHER01"]


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
    survivor = poster(store, outbound, library)
    assert await survivor.post(dying) == "held"
    clock.now += FAST.lease + 1
    assert await survivor.post(dying) == ("already" if landed else "posted")
    assert len(slack_api.delivered("C0CRASH01")) == 1
    assert await survivor.post(dying) == "already"


async def test_giving_up_after_too_many_claims(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    settings = FanoutSettings(rate=500, channel_interval=0.01, lease=5, attempts=1, max_claims=2)
    store = MemoryStore()
    slack_api.server_error("chat.postMessage", times=10)
    sender = poster(store, outbound, library, settings)
    assert [await sender.post(job("C0NEVER01")) for _ in range(3)] == ["retry", "retry", "failed"]
    assert await sender.post(job("C0NEVER01")) == "already"
    assert len(slack_api.calls("chat.postMessage")) == 2


def test_missed_runs_are_caught_up_within_the_grace_period_only() -> None:
    sub = Subscription("slack", "C1", dt.time(8), "Europe/Berlin", EVERY_DAY)
    at_930 = dt.datetime(2024, 6, 3, 9, 30, tzinfo=sub.tz)
    (due,) = due_jobs([sub], at_930, grace=7200)
    assert due.day == dt.date(2024, 6, 3) and due.key == "post:slack:C1:2024-06-03"
    assert due_jobs([sub], at_930, grace=3600) == []
    assert due_jobs([sub], at_930.replace(hour=7), grace=7200) == []


async def test_the_fanout_works_its_queue_and_reports(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.fail("chat.postMessage", "channel_not_found", channel="C0FAN0003")
    store = MemoryStore()
    await store.settle(job("C0FAN0004").key, "posted", 600)
    fanout = Fanout(poster(store, outbound, library))
    fanout.start()
    try:
        with caplog.at_level(logging.INFO, "touchpoint.prompts"):
            assert fanout.add(job(f"C0FAN000{n}") for n in range(5)) == 5
            assert fanout.add([job("C0FAN0001")]) == 0
            await asyncio.wait_for(fanout.wait_idle(), 30)
        assert fanout.add([job("C0FAN0001")]) == 0
    finally:
        await fanout.stop()
    assert sorted(c.body["channel"] for c in slack_api.delivered()) == [
        "C0FAN0000", "C0FAN0001", "C0FAN0002"]
    assert "run done: 3 posted here, 1 by other instances, 1 flagged, 0 failed, 0 missed" \
        in caplog.text


def test_a_queued_post_lasts_until_the_end_of_its_day_or_its_grace() -> None:
    sub = Subscription("slack", "C1", dt.time(9), "Europe/Berlin", EVERY_DAY)
    morning = Job(sub, dt.date(2024, 6, 3), sub.run_on(dt.date(2024, 6, 3)))
    assert morning.deadline(7200) == dt.datetime(2024, 6, 4, tzinfo=sub.tz)
    late = Subscription("slack", "C1", dt.time(23, 30), "Europe/Berlin", EVERY_DAY)
    night = Job(late, dt.date(2024, 6, 3), late.run_on(dt.date(2024, 6, 3)))
    assert night.deadline(7200) == dt.datetime(2024, 6, 4, 1, 30, tzinfo=sub.tz)


async def test_a_job_past_its_day_is_missed_not_posted(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        caplog: pytest.LogCaptureFixture) -> None:
    fanout = Fanout(poster(MemoryStore(), outbound, library),
                    clock=lambda: NOW + dt.timedelta(days=2))
    fanout.start()
    try:
        fanout.add([job("C0LATE001")])
        await asyncio.wait_for(fanout.wait_idle(), 30)
    finally:
        await fanout.stop()
    assert slack_api.delivered() == []
    assert "missed slack:C0LATE001" in caplog.text


async def test_schedule_yaml_is_parsed_again_only_when_it_or_the_playbook_ids_change(
        tmp_path: Path, outbound: SlackOutbound, library: PlaybookSet,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    parsed: list[Path] = []

    def load_schedule(folder: Path, ids: list[str]) -> list[Subscription]:
        parsed.append(folder)
        return real(folder, ids)

    real = scheduler.load_schedule
    monkeypatch.setattr(scheduler, "load_schedule", load_schedule)
    path = tmp_path / "schedule.yaml"

    def schedule(channel: str) -> None:
        path.write_text(f"prompts:\n  - platform: slack\n    channel: {channel}\n"
                        f"    time: \"09:00\"\n    zone: UTC\n")

    schedule("C0GIT0001")
    playbooks = list(library.playbooks)
    prompts = PromptScheduler(MemoryStore(), {"slack": outbound}, lambda: playbooks,
                              lambda: tmp_path, FAST)

    async def channels() -> list[str]:
        await prompts.refresh()
        return [s.channel for s in prompts.subscriptions]

    assert await channels() == ["C0GIT0001"]
    assert await channels() == ["C0GIT0001"] and len(parsed) == 1
    schedule("C0GIT00002")
    assert await channels() == ["C0GIT00002"] and len(parsed) == 2
    schedule("C0GIT00003")  # the same size: only the modification time tells
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert await channels() == ["C0GIT00003"] and len(parsed) == 3
    playbooks.pop()
    assert await channels() == ["C0GIT00003"] and len(parsed) == 4
    path.write_text("prompts: [")
    with caplog.at_level(logging.ERROR, "touchpoint.prompts"):
        assert await channels() == ["C0GIT00003"]
        assert await channels() == ["C0GIT00003"] and len(parsed) == 5
    assert caplog.text.count("schedule.yaml is invalid; keeping the last valid one") == 1
    path.unlink()
    assert await channels() == [] and len(parsed) == 6


async def test_the_slack_poster_of_the_prompts_gives_up_a_request_within_half_a_lease(
        slack_api: FakeSlackAPI) -> None:
    """The server's and `touchpoint prompt`'s: a request never outlives its claim."""
    slack_api.hold("chat.postMessage")
    sender = scheduler.slack_outbound(Settings(slack_bot_token=TOKEN,
                                               slack_api_url=slack_api.url, prompt_lease=1))
    try:
        began = time.monotonic()
        result = await sender.send("C0SLOW001", Reply("Prompt of the day"))
        took = time.monotonic() - began
    finally:
        slack_api.release("chat.postMessage")
        await sender.close()
    assert result.outcome == "retry" and "Timeout" in result.reason
    assert 0.4 < took < 1.0


async def test_chat_subscriptions_flags_and_the_next_runs_of_every_channel(
        caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    early = Subscription("teams", "19:abc@thread.tacv2", dt.time(6), "UTC", EVERY_DAY)
    await store.subscribe("teams", early.channel, early.to_json())
    await store.subscribe("slack", "C0BROKEN1", "{not json")
    await store.flag("teams", early.channel, "the bot was removed")
    with caplog.at_level(logging.WARNING, "touchpoint.prompts"):
        assert await chat_subscriptions(store, ("slack", "teams")) == [early]
    assert "skipping the subscription of slack:C0BROKEN1" in caplog.text
    caplog.clear()
    problems: list[str] = []
    assert await chat_subscriptions(store, ("slack", "teams"), problems) == [early]
    assert [p.split(": ")[0] for p in problems] == ["slack:C0BROKEN1"] and caplog.text == ""
    assert await flagged_keys(store, ("slack", "teams")) == {
        "teams:19:abc@thread.tacv2": "the bot was removed"}
    from_git = [Subscription("slack", "C0GIT0001", dt.time(9), "UTC", EVERY_DAY),
                Subscription("teams", early.channel, dt.time(12), "UTC", EVERY_DAY)]
    now = dt.datetime(2026, 3, 4, 7, 0, tzinfo=dt.UTC)
    # chat replaces git's 12:00, and 06:00 has passed today: soonest first, not by channel
    assert [(at.day, at.hour, sub.key) for at, sub in next_runs(from_git, [early], now)] == [
        (4, 9, "slack:C0GIT0001"), (5, 6, early.key)]


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
        posting = Poster(store, {"slack": outbound}, lambda: library.playbooks, FAST, sleep=sleep)
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
