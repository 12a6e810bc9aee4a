"""The learning loop's values: what a button and a form carry, what is stored, for how long."""

from __future__ import annotations

import json

import pytest

from bot import analytics, feedback
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore


def test_not_helpful_carries_the_scrubbed_question() -> None:
    value = feedback.button_value("renewal", "mail bob@example.com or call 0176 1234 5678")
    assert "example.com" not in value and "5678" not in value
    assert feedback.read_button(value) == (
        "renewal", analytics.scrub_question("mail bob@example.com or call 0176 1234 5678"))
    assert feedback.read_button("renewal") == ("renewal", "")
    assert feedback.button_value("renewal", "") == "renewal"


def test_the_form_offers_every_other_playbook_and_none(library: PlaybookSet) -> None:
    shown = library.playbooks[0]
    reply = feedback.form_reply(library.playbooks, shown, "the question")
    assert reply.form is not None and reply.ephemeral
    values = [value for value, _ in reply.form.choices]
    assert values == [p.id for p in library.playbooks[1:]] + [feedback.NONE]
    assert json.loads(reply.form.context) == {"shown": shown.id, "question": "the question"}


def test_a_submission_is_read_back_scrubbed() -> None:
    context = json.dumps({"shown": "renewal", "question": "ask ann@example.com"})
    value = feedback.submission(context, "price-objection", "ring +44 20 7946 0958 " * 40)
    found = feedback.read_submission(value)
    assert found is not None
    assert (found.shown, found.chosen, found.question) == (
        "renewal", "price-objection", "ask <email>")
    assert "7946" not in found.why and len(found.why) <= feedback.MAX_WHY


@pytest.mark.parametrize("value", [
    "", "renewal", "{", "[]", json.dumps({"context": "{}", "chosen": "x"}),
    json.dumps({"context": json.dumps({"shown": "a"}), "chosen": ""}),
    json.dumps({"context": 5, "chosen": "x"}),
])
def test_what_is_not_a_submission_is_refused(value: str) -> None:
    assert feedback.read_submission(value) is None


async def test_kept_per_week_for_the_questions_days_then_gone() -> None:
    now = [1_700_000_000.0]
    store = MemoryStore(clock=lambda: now[0])
    correction = feedback.Correction("renewal", feedback.NONE, "q", "")
    assert await feedback.record(store, correction, now[0], 90)
    week = analytics.iso_week(now[0])
    assert await feedback.read_corrections(store, [week]) == [correction]
    now[0] += 91 * 86400
    assert await feedback.read_corrections(store, [week]) == []
    assert not await feedback.record(store, correction, now[0], 0)
    assert await feedback.read_corrections(store, [analytics.iso_week(now[0])]) == []


async def test_a_damaged_stored_entry_is_skipped() -> None:
    store = MemoryStore()
    await store.add_correction("2026-W01", "not json", 10)
    await store.add_correction("2026-W01", json.dumps({"shown": "a"}), 10)
    await store.add_correction("2026-W01", feedback.Correction("a", "b").to_json(), 10)
    assert await feedback.read_corrections(store, ["2026-W01"]) == [
        feedback.Correction("a", "b")]
