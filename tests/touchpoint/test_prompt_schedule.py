"""The one reader of the effective schedule: schedule.yaml, chat subscriptions and flags,
as the scheduler, `touchpoint schedule` / `prompt` and the Schedule page all see them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import pytest
from prompt_support import FAST

from adapters.slack.outbound import SlackOutbound
from bot.channels import digest_space
from bot.memory_store import MemoryStore
from bot.schedule import EVERY_DAY, Subscription
from touchpoint.prompt_schedule import FromChat, effective_schedule, read_chat, read_schedule
from touchpoint.scheduler import PromptScheduler


async def test_chat_subscriptions_flags_and_the_next_runs_of_every_channel() -> None:
    store = MemoryStore()
    early = Subscription("teams", "19:abc@thread.tacv2", dt.time(6), "UTC", EVERY_DAY)
    await store.subscribe("teams", early.channel, early.to_json())
    await store.subscribe("slack", "C0BROKEN1", "{not json")
    await store.flag("teams", early.channel, "the bot was removed")
    chat = await read_chat(store, ("slack", "teams"))
    assert chat.prompts == (early,) and chat.digests == ()
    assert [p.split(": ")[0] for p in chat.problems] == ["slack:C0BROKEN1"]
    assert chat.flagged == {"teams:19:abc@thread.tacv2": "the bot was removed"}
    from_git = [Subscription("slack", "C0GIT0001", dt.time(9), "UTC", EVERY_DAY),
                Subscription("teams", early.channel, dt.time(12), "UTC", EVERY_DAY)]
    now = dt.datetime(2026, 3, 4, 7, 0, tzinfo=dt.UTC)
    schedule = await read_schedule(store, ("slack", "teams"), from_git)
    assert schedule == effective_schedule(from_git, chat)
    # chat replaces git's 12:00, and 06:00 has passed today: soonest first, not by channel
    assert [(at.day, at.hour, sub.key) for at, sub in schedule.next_runs(now)] == [
        (4, 9, "slack:C0GIT0001"), (5, 6, early.key)]
    assert schedule.prompt_of(early.key) == early
    assert schedule.on(("slack",)).prompts == (from_git[0],)


async def test_weekly_digests_are_read_beside_the_prompts_and_never_replace_them() -> None:
    store = MemoryStore()
    prompt = Subscription("slack", "C0BOTH001", dt.time(9), "UTC", EVERY_DAY)
    digest = Subscription("slack", "C0BOTH001", dt.time(9), "UTC", (0,))
    await store.subscribe("slack", prompt.channel, prompt.to_json())
    await store.subscribe(digest_space("slack"), digest.channel, digest.to_json())
    await store.subscribe(digest_space("slack"), "C0BROKEN1", "{not json")
    schedule = await read_schedule(store, ("slack",), [])
    assert schedule.prompts == (prompt,)
    assert schedule.digests == (dataclasses.replace(digest, digest=True),)
    assert schedule.subscriptions == [prompt, dataclasses.replace(digest, digest=True)]
    assert [p.split(": ")[0] for p in schedule.problems] == ["slack:C0BROKEN1 (weekly digest)"]
    assert effective_schedule([prompt], FromChat()).prompts == (prompt,)


async def test_the_scheduler_logs_a_damaged_subscription_once_and_keeps_the_rest(
        tmp_path: Path, outbound: SlackOutbound, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    good = Subscription("slack", "C0GOOD001", dt.time(9), "UTC", EVERY_DAY)
    await store.subscribe("slack", good.channel, good.to_json())
    await store.subscribe("slack", "C0BROKEN1", "{not json")
    prompts = PromptScheduler(store, {"slack": outbound}, lambda: [], lambda: tmp_path, FAST)
    with caplog.at_level(logging.WARNING, "touchpoint.prompts"):
        await prompts.refresh()
        await prompts.refresh()
    assert prompts.subscriptions == [good]
    assert caplog.text.count("skipping the subscription of slack:C0BROKEN1") == 1
