"""The daily prompt's scheduler: the runs it arms in APScheduler, and what it queues.

`bot.schedule` alone says when a channel's next post is; the scheduler arms a
one-off APScheduler job at each distinct next run instant and re-arms after it
fires. The tests here move a clock by hand to the instant APScheduler's own
trigger gives and run the job as APScheduler would, so nothing waits.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlackAPI
from prompt_support import FAST, TOKEN

from adapters.slack.outbound import SlackOutbound
from bot.memory_store import MemoryStore
from bot.messages import Reply
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from touchpoint import prompt_schedule, scheduler
from touchpoint.scheduler import PromptScheduler
from touchpoint.settings import Settings

BERLIN = "Europe/Berlin"


class SetClock:
    """The scheduler's wall clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


async def subscribed(*subs: Subscription) -> MemoryStore:
    store = MemoryStore()
    for sub in subs:
        await store.subscribe(sub.platform, sub.channel, sub.to_json())
    return store


async def fire_until(prompts: PromptScheduler, clock: SetClock,
                     end: dt.datetime) -> list[dt.datetime]:
    """Fire the armed runs in order until `end`, as APScheduler would: each at the time its
    trigger gives, the clock moved there first; the instants fired."""
    fired = []
    while True:
        at = min(job.trigger.get_next_fire_time(None, clock.now) for job in prompts.armed())
        if at > end:
            return fired
        run = next(job for job in prompts.armed()
                   if job.trigger.get_next_fire_time(None, clock.now) == at)
        assert run.trigger.get_next_fire_time(at, at) is None  # one-off: dropped once fired
        clock.now = at
        await run.func(*run.args)
        fired.append(at)


async def test_one_run_is_armed_per_distinct_instant_and_rearmed_after_it_fires(
        tmp_path: Path, outbound: SlackOutbound) -> None:
    nine = dt.time(9)
    store = await subscribed(Subscription("slack", "C0BERLIN1", nine, BERLIN, EVERY_DAY),
                             Subscription("slack", "C0BERLIN2", nine, BERLIN, EVERY_DAY),
                             Subscription("slack", "C0LONDON1", nine, "Europe/London",
                                          EVERY_DAY))
    clock = SetClock(utc("2027-06-01T06:00:00"))
    prompts = PromptScheduler(store, {"slack": outbound}, lambda: [], lambda: tmp_path, FAST,
                              clock=clock)
    await prompts.refresh()
    assert sorted(job.trigger.run_date for job in prompts.armed()) == [
        utc("2027-06-01T07:00:00"), utc("2027-06-01T08:00:00")]
    assert await fire_until(prompts, clock, utc("2027-06-01T07:30:00")) == [
        utc("2027-06-01T07:00:00")]
    assert prompts.queue.pending == 2
    assert sorted(job.trigger.run_date for job in prompts.armed()) == [
        utc("2027-06-01T08:00:00"), utc("2027-06-02T07:00:00")]
    await prompts.refresh()  # the minute's refresh keeps what is armed, queues nothing again
    assert len(prompts.armed()) == 2 and prompts.queue.pending == 2


async def test_a_time_repeated_when_the_clocks_go_back_fires_once(
        tmp_path: Path, outbound: SlackOutbound) -> None:
    """02:30 Europe/Berlin on 2027-10-31 comes twice (00:30 and 01:30 UTC); a cron trigger
    fires at both. The first is the post's time, as `Subscription.run_on` says."""
    night = Subscription("slack", "C0NIGHT01", dt.time(2, 30), BERLIN, EVERY_DAY)
    clock = SetClock(utc("2027-10-30T12:00:00"))
    prompts = PromptScheduler(await subscribed(night), {"slack": outbound}, lambda: [],
                              lambda: tmp_path, FAST, clock=clock)
    await prompts.refresh()
    assert await fire_until(prompts, clock, utc("2027-10-31T01:29:59")) == [
        utc("2027-10-31T00:30:00")]
    assert prompts.queue.pending == 1
    clock.now = utc("2027-10-31T01:30:00")  # 02:30 again, by the wall clock
    await prompts.refresh()
    assert [job.trigger.run_date for job in prompts.armed()] == [utc("2027-11-01T01:30:00")]
    assert prompts.queue.pending == 1
    fired = await fire_until(prompts, clock, utc("2027-11-01T12:00:00"))
    assert fired == [utc("2027-11-01T01:30:00")]
    assert prompts.queue.pending == 2


async def test_a_time_skipped_when_the_clocks_go_forward_fires_once_an_hour_later(
        tmp_path: Path, outbound: SlackOutbound) -> None:
    """02:30 Europe/Berlin does not exist on 2027-03-28 (02:00 becomes 03:00): that day's
    post goes out at 01:30 UTC, 03:30 by the wall clock, once; the next day at 02:30 again."""
    night = Subscription("slack", "C0NIGHT01", dt.time(2, 30), BERLIN, EVERY_DAY)
    clock = SetClock(utc("2027-03-27T12:00:00"))
    prompts = PromptScheduler(await subscribed(night), {"slack": outbound}, lambda: [],
                              lambda: tmp_path, FAST, clock=clock)
    await prompts.refresh()
    fired = await fire_until(prompts, clock, utc("2027-03-29T12:00:00"))
    assert fired == [utc("2027-03-28T01:30:00"), utc("2027-03-29T00:30:00")]
    assert [f"{at.astimezone(night.tz):%d %H:%M}" for at in fired] == ["28 03:30", "29 02:30"]
    assert prompts.queue.pending == 2


async def test_a_run_that_fired_is_not_armed_again_by_a_clock_behind_it(
        tmp_path: Path, outbound: SlackOutbound) -> None:
    sub = Subscription("slack", "C0EARLY01", dt.time(9), "UTC", EVERY_DAY)
    clock = SetClock(utc("2027-06-01T08:00:00"))
    prompts = PromptScheduler(await subscribed(sub), {"slack": outbound}, lambda: [],
                              lambda: tmp_path, FAST, clock=clock)
    await prompts.refresh()
    [run] = prompts.armed()
    await run.func(*run.args)  # fired a little early by this process's clock
    await prompts.refresh()
    assert [job.trigger.run_date for job in prompts.armed()] == [utc("2027-06-02T09:00:00")]


async def test_an_unsubscribed_channel_is_no_longer_armed(
        tmp_path: Path, outbound: SlackOutbound) -> None:
    sub = Subscription("slack", "C0GONE001", dt.time(9), "UTC", EVERY_DAY)
    store = await subscribed(sub)
    clock = SetClock(utc("2027-06-01T08:00:00"))
    prompts = PromptScheduler(store, {"slack": outbound}, lambda: [], lambda: tmp_path, FAST,
                              clock=clock)
    await prompts.refresh()
    assert len(prompts.armed()) == 1
    await store.unsubscribe("slack", sub.channel)
    await prompts.refresh()
    assert prompts.armed() == []



async def test_schedule_yaml_is_parsed_again_only_when_it_or_the_playbook_ids_change(
        tmp_path: Path, outbound: SlackOutbound, library: PlaybookSet,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    parsed: list[Path] = []

    def load_schedule(folder: Path, ids: list[str]) -> list[Subscription]:
        parsed.append(folder)
        return real(folder, ids)

    real = prompt_schedule.load_schedule
    monkeypatch.setattr(prompt_schedule, "load_schedule", load_schedule)
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
