"""This instance's queue of due posts: worked until each is final, tallied, and given up
when its day is over."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from fakes.slack_api import FakeSlackAPI
from prompt_support import NOW, delivery, job

from adapters.slack.outbound import SlackOutbound
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from touchpoint.prompt_jobs import Job, due_jobs
from touchpoint.prompt_queue import PromptQueue


def test_missed_runs_are_caught_up_within_the_grace_period_only() -> None:
    sub = Subscription("slack", "C1", dt.time(8), "Europe/Berlin", EVERY_DAY)
    at_930 = dt.datetime(2024, 6, 3, 9, 30, tzinfo=sub.tz)
    (due,) = due_jobs([sub], at_930, grace=7200)
    assert due.day == dt.date(2024, 6, 3) and due.key == "post:slack:C1:2024-06-03"
    assert due_jobs([sub], at_930, grace=3600) == []
    assert due_jobs([sub], at_930.replace(hour=7), grace=7200) == []


async def test_the_queue_is_worked_until_every_post_is_final_and_reports(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.fail("chat.postMessage", "channel_not_found", channel="C0FAN0003")
    store = MemoryStore()
    await store.settle(job("C0FAN0004").key, "posted", 600)
    queue = PromptQueue(delivery(store, outbound, library))
    queue.start()
    try:
        with caplog.at_level(logging.INFO, "touchpoint.prompts"):
            assert queue.add(job(f"C0FAN000{n}") for n in range(5)) == 5
            assert queue.add([job("C0FAN0001")]) == 0
            await asyncio.wait_for(queue.wait_idle(), 30)
        assert queue.add([job("C0FAN0001")]) == 0
    finally:
        await queue.stop()
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
    queue = PromptQueue(delivery(MemoryStore(), outbound, library),
                    clock=lambda: NOW + dt.timedelta(days=2))
    queue.start()
    try:
        queue.add([job("C0LATE001")])
        await asyncio.wait_for(queue.wait_idle(), 30)
    finally:
        await queue.stop()
    assert slack_api.delivered() == []
    assert "missed slack:C0LATE001" in caplog.text
