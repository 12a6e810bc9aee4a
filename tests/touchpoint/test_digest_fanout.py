"""The weekly digest goes out through the daily prompt's machinery: the same claims,
pacing and fan-out, under keys of its own, once per channel and week across instances."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlackAPI
from helpers import said
from live_support import three_instances_stores
from prompt_support import FAST

from adapters.slack.outbound import SlackOutbound
from bot import feedback
from bot.admin import Admins
from bot.channels import digest_space
from bot.digest import digest_week
from bot.handler import Handler, HandlerSettings
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import Job, due_jobs
from touchpoint.prompt_schedule import read_chat
from touchpoint.scheduler import PromptScheduler

MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
LAST_WEEK = "2026-W48"


def digest_job(channel: str) -> Job:
    sub = Subscription("slack", channel, dt.time(9), "UTC", (0,), digest=True)
    return Job(sub, MONDAY.date(), MONDAY)


async def last_week(store: Store, library: PlaybookSet) -> tuple[str, str]:
    busy, poor = library.playbooks[0].id, library.playbooks[1].id
    await store.incr_counts(LAST_WEEK, f"guide:{busy}", 7)
    await store.incr_counts(LAST_WEEK, f"nudge:{poor}", 2)
    await store.incr_counts(LAST_WEEK, f"not_helpful:{poor}", 3)
    await store.incr_counts(LAST_WEEK, "unmatched")
    await store.add_question(LAST_WEEK, "how do I answer a tender for 120 seats", 50)
    await store.add_correction(LAST_WEEK, feedback.Correction(
        poor, busy, "the booth visitor wants a demo", "they were at our stand").to_json(), 50)
    return busy, poor


def test_a_monday_digest_covers_the_week_before() -> None:
    assert digest_week(MONDAY.date()) == LAST_WEEK


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_instances_post_each_digest_once_with_last_weeks_figures(
        request: pytest.FixtureRequest, backend: str, slack_api: FakeSlackAPI,
        outbound: SlackOutbound, library: PlaybookSet) -> None:
    async with three_instances_stores(request, backend) as stores:
        busy, poor = await last_week(stores[0], library)
        deliveries = [PromptDelivery(s, {"slack": outbound}, lambda: library.playbooks, FAST)
                      for s in stores]
        channels = ["C0DIGEST1", "C0DIGEST2", "D0ADMIN01"]
        outcomes = await asyncio.gather(*(p.post(digest_job(c)) for c in channels
                                          for p in deliveries))
    assert outcomes.count("posted") == 3
    delivered = slack_api.delivered()
    assert sorted(c.body["channel"] for c in delivered) == sorted(channels)
    text = " ".join(b["text"]["text"] for b in delivered[0].body["blocks"] if "text" in b)
    assert f"weekly digest, {LAST_WEEK}" in delivered[0].body["text"]
    assert f"{library.by_id[busy].title}: 7 times" in text
    assert "how do I answer a tender for 120 seats" in text
    assert f"{library.by_id[poor].title}: 3 not helpful" in text
    assert (f'{library.by_id[poor].title} \u2192 {library.by_id[busy].title} for "the booth '
            'visitor wants a demo": they were at our stand') in text


async def test_the_digest_and_the_prompt_of_the_same_day_do_not_share_a_claim(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet) -> None:
    store = MemoryStore()
    sender = PromptDelivery(store, {"slack": outbound}, lambda: library.playbooks, FAST)
    prompt = Job(Subscription("slack", "C0BOTH001", dt.time(9), "UTC", EVERY_DAY),
                 MONDAY.date(), MONDAY)
    assert prompt.key != digest_job("C0BOTH001").key
    both = due_jobs([prompt.sub, digest_job("C0BOTH001").sub], MONDAY, FAST.grace)
    assert {j.key for j in both} == {prompt.key, digest_job("C0BOTH001").key}
    assert await sender.post(prompt) == "posted"
    assert await sender.post(digest_job("C0BOTH001")) == "posted"
    assert len(slack_api.delivered("C0BOTH001")) == 2


async def test_a_digest_asked_for_in_chat_is_scheduled_and_posted_when_due(
        slack_api: FakeSlackAPI, outbound: SlackOutbound, library: PlaybookSet,
        tmp_path: Path) -> None:
    store = MemoryStore()
    before = (MONDAY - dt.timedelta(days=1)).timestamp()
    handler = Handler(library, store, HandlerSettings(admins=Admins.parse("U0ADMIN")),
                      clock=lambda: before)
    await handler.handle(said("digest weekly", user="U0ADMIN", channel="C0CHAT001"))
    await store.subscribe(digest_space("slack"), "C0BROKEN1", "{not json")
    [sub] = (await read_chat(store, ["slack"])).digests
    assert sub.digest and sub.weekdays == (0,)
    await last_week(store, library)
    prompts = PromptScheduler(store, {"slack": outbound}, lambda: library.playbooks,
                              lambda: tmp_path, FAST,
                              clock=lambda: MONDAY + dt.timedelta(minutes=5))
    prompts.queue.start()
    try:
        await prompts.refresh()
        await asyncio.wait_for(prompts.queue.wait_idle(), 30)
    finally:
        await prompts.queue.stop()
    [call] = slack_api.delivered("C0CHAT001")
    assert "weekly digest" in call.body["text"]
