"""A call's words pick its playbook; a call travels through the outbox as JSON."""

from __future__ import annotations

import pytest

from bot.calls import Call, best_match, talked_about
from bot.playbook_set import PlaybookSet


def test_trackers_that_say_pricing_and_competitors_bring_the_price_objection(
        library: PlaybookSet) -> None:
    texts = ("Acme / Touchpoint: renewal", talked_about(["Pricing", "Competitors"]))
    found = best_match(library.matcher, texts)
    assert found is not None and found.playbook == "price-objection"


def test_the_checklist_is_never_the_extra_playbook_and_nothing_is_picked_from_nothing(
        library: PlaybookSet) -> None:
    assert best_match(library.matcher, ["Discovery call with Acme"]) is None
    assert best_match(library.matcher, ["Ron/Speedman", ""]) is None


def test_talked_about_reads_like_a_sentence() -> None:
    assert talked_about([]) == ""
    assert talked_about([" Pricing "]) == "We talked about pricing."
    assert talked_about(["Pricing", "Next  Steps", "Competitors"]) == \
        "We talked about pricing, next steps and competitors."


def test_a_call_goes_through_json_unchanged() -> None:
    call = Call("gong", "559", "Acme", texts=("a", "b"), owner_email="j@x.example",
                workspace="62", crm_owner="005", url="https://x.example", accepted=1.5)
    assert Call.from_json(call.to_json()) == call
    assert call.key == "call:gong:559" and call.domain == "x.example"


@pytest.mark.parametrize("entry", ["[]", "{}", '{"source": "fax", "id": "1", "customer": ""}',
                                   '{"source": "gong", "id": "1", "customer": "", "texts": [1]}',
                                   '{"source": "gong", "id": 1, "customer": ""}',
                                   '{"source": "gong", "id": "1", "customer": "", '
                                   '"accepted": "now"}', "not json"])
def test_a_damaged_entry_is_a_value_error(entry: str) -> None:
    with pytest.raises(ValueError):
        Call.from_json(entry)
