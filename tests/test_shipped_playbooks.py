"""The playbooks in the repository keep the public contract of situations.md."""

from __future__ import annotations

import pytest

from bot.example_tests import run_examples
from bot.playbook_set import PlaybookSet

IDS = {
    "post-call", "unhappy-customer", "happy-customer", "inbound-inquiry", "event-booth",
    "online-comment", "customer-gift", "price-objection", "big-purchase", "lead-handoff",
    "feature-request", "support-question", "onboarding", "renewal",
}


def test_exactly_the_situation_ids(library: PlaybookSet) -> None:
    assert set(library.by_id) == IDS


@pytest.mark.parametrize("pid", sorted(IDS))
def test_enough_examples_and_prompts(library: PlaybookSet, pid: str) -> None:
    playbook = library.by_id[pid]
    assert len(playbook.examples.match) >= 10
    assert len(playbook.examples.no_match) >= 5
    assert len(playbook.prompts) >= 3
    assert 3 <= len(playbook.guidance) <= 8


def test_every_example_passes(library: PlaybookSet) -> None:
    failures = [(r.playbook, f.example, f.got) for r in run_examples(library) for f in r.failures]
    assert failures == []


def test_no_example_is_listed_twice(library: PlaybookSet) -> None:
    seen: dict[str, str] = {}
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            assert text.lower() not in seen, (text, seen.get(text.lower()), playbook.id)
            seen[text.lower()] = playbook.id
