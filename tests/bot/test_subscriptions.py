"""`/touchpoint subscribe` and `unsubscribe` through the handler, as the adapters drive it."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import added, said
from stores import DownStore

from bot.handler import UNSAVED, Handler, HandlerSettings
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.schedule import Subscription

FRIDAY_NOON = dt.datetime(2024, 5, 31, 12, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def handler(library: PlaybookSet) -> Handler:
    return Handler(library, MemoryStore(), HandlerSettings(), clock=lambda: FRIDAY_NOON)


async def test_subscribe_saves_and_says_what_was_scheduled(handler: Handler) -> None:
    (reply,) = await handler.handle(said("subscribe 09:00 Europe/Berlin"))
    assert reply.ephemeral
    assert reply.text == ("Subscribed: a brand-promise prompt here at 09:00 Europe/Berlin, "
                          "Mon-Fri. Today's 09:00 has passed, so the first one comes on Mon 03 Jun "
                          "at 09:00 (Europe/Berlin). "
                          "Stop it with /touchpoint unsubscribe.")
    saved = await handler.store.subscriptions("slack")
    assert Subscription.from_json("slack", "C1", saved["C1"]).describe() == \
        "09:00 Europe/Berlin, Mon-Fri"


async def test_subscribe_with_days_replaces_and_clears_a_flag(handler: Handler) -> None:
    await handler.store.flag("slack", "C1", "not_in_channel")
    await handler.handle(said("subscribe 09:00 Europe/Berlin"))
    (reply,) = await handler.handle(said("SUBSCRIBE 7:30 asia/tokyo daily"))
    assert "07:30 Asia/Tokyo, every day" in reply.text
    assert "Sat 01 Jun at 07:30" in reply.text
    assert list(await handler.store.subscriptions("slack")) == ["C1"]
    assert await handler.store.flagged("slack") == {}


@pytest.mark.parametrize("text, problem", [
    ("subscribe", "say when and in which time zone"),
    ("subscribe 25:00 UTC", "'25:00' is not a time"),
    ("subscribe 09:00 Mars/Olympus", "'Mars/Olympus' is not a time zone"),
])
async def test_subscribe_mistakes_show_examples(handler: Handler, text: str,
                                                problem: str) -> None:
    (reply,) = await handler.handle(said(text))
    assert problem in reply.text and reply.ephemeral
    assert "/touchpoint subscribe 09:00 Europe/Berlin" in reply.sections[0].bullets
    assert await handler.store.subscriptions("slack") == {}


async def test_unsubscribe(handler: Handler) -> None:
    await handler.handle(said("subscribe 09:00 UTC"))
    await handler.handle(said("subscribe 10:00 UTC", channel="C2"))
    (reply,) = await handler.handle(said("unsubscribe"))
    assert reply.text.startswith("Unsubscribed")
    assert list(await handler.store.subscriptions("slack")) == ["C2"]
    (again,) = await handler.handle(said("unsubscribe"))
    assert "no daily prompt subscription" in again.text


async def test_the_bot_added_back_lifts_the_flag(handler: Handler) -> None:
    await handler.store.flag("slack", "C1", "not_in_channel")
    await handler.handle(added(id="Ev1"))
    assert await handler.store.flagged("slack") == {}


async def test_help_mentions_subscribe(handler: Handler) -> None:
    (reply,) = await handler.handle(said("help"))
    assert any("subscribe 09:00 Europe/Berlin" in b for s in reply.sections for b in s.bullets)


async def test_a_store_outage_is_said_not_raised(library: PlaybookSet) -> None:
    handler = Handler(library, DownStore("subscribe", "unsubscribe"), clock=lambda: FRIDAY_NOON)
    for text in ("subscribe 09:00 UTC", "unsubscribe"):
        (reply,) = await handler.handle(said(text))
        assert reply.text == UNSAVED


BERLIN_THURSDAY_0910 = dt.datetime(2026, 12, 3, 8, 10, tzinfo=dt.UTC)
"""Thu 03 Dec 2026, 09:10 in Berlin: ten minutes after a 09:00 Berlin prompt's time."""


async def test_subscribing_after_todays_time_waits_for_tomorrow_as_it_says(
        library: PlaybookSet) -> None:
    from touchpoint.prompt_jobs import due_jobs

    handler = Handler(library, MemoryStore(), clock=BERLIN_THURSDAY_0910.timestamp)
    (reply,) = await handler.handle(said("subscribe 09:00 Europe/Berlin mon-fri"))
    assert "Today's 09:00 has passed, so the first one comes on Fri 04 Dec at 09:00 " \
        "(Europe/Berlin)" in reply.text
    saved = await handler.store.subscriptions("slack")
    sub = Subscription.from_json("slack", "C1", saved["C1"])
    assert sub.since == BERLIN_THURSDAY_0910
    grace = 7200.0
    seven_seconds_later = BERLIN_THURSDAY_0910 + dt.timedelta(seconds=7)
    assert due_jobs([sub], seven_seconds_later, grace) == []
    friday = dt.datetime(2026, 12, 4, 8, 0, 30, tzinfo=dt.UTC)
    (job,) = due_jobs([sub], friday, grace)
    assert job.day == dt.date(2026, 12, 4)


async def test_a_run_missed_while_down_after_subscribing_is_still_caught_up(
        library: PlaybookSet) -> None:
    from touchpoint.prompt_jobs import due_jobs

    before = BERLIN_THURSDAY_0910 - dt.timedelta(minutes=15)
    handler = Handler(library, MemoryStore(), clock=before.timestamp)
    (reply,) = await handler.handle(said("subscribe 09:00 Europe/Berlin mon-fri"))
    assert "The first one comes on Thu 03 Dec at 09:00" in reply.text
    saved = await handler.store.subscriptions("slack")
    sub = Subscription.from_json("slack", "C1", saved["C1"])
    (job,) = due_jobs([sub], BERLIN_THURSDAY_0910, 7200.0)
    assert job.day == dt.date(2026, 12, 3)


@pytest.mark.parametrize("since", ['"yesterday"', '"2026-12-03T08:10:00"', "7"])
def test_a_damaged_since_is_a_damaged_subscription(since: str) -> None:
    text = f'{{"time": "09:00", "zone": "UTC", "weekdays": [0], "since": {since}}}'
    with pytest.raises(ValueError):
        Subscription.from_json("slack", "C1", text)
