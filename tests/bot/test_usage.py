"""Usage counters keep the names they were stored under, and read back as what was counted."""

from __future__ import annotations

import pytest

from bot.usage import PER_PLAYBOOK, Counted, UsageEvent


@pytest.mark.parametrize(("usage", "key"), [
    (UsageEvent(Counted.GUIDE, "price-objection"), "guide:price-objection"),
    (UsageEvent(Counted.NOT_HELPFUL, "renewal"), "not_helpful:renewal"),
    (UsageEvent(Counted.CORRECTION, "renewal"), "correction:renewal"),
    (UsageEvent(Counted.UNMATCHED), "unmatched"),
    (UsageEvent(Counted.ADDED), "added"),
    (UsageEvent(Counted.CALL_ENDED), "call_ended"),
    (UsageEvent(Counted.CALL_UNROUTED), "call_unrouted"),
])
def test_the_stored_names_are_unchanged_and_read_back(usage: UsageEvent, key: str) -> None:
    assert usage.key == key
    assert UsageEvent.read(key) == usage


def test_every_kind_round_trips() -> None:
    for kind in Counted:
        usage = UsageEvent(kind, "pb:with:colons" if kind in PER_PLAYBOOK else "")
        assert UsageEvent.read(usage.key) == usage


@pytest.mark.parametrize("key", ["", "guide", "guide:", "unknown:x", "unmatched:x", "cooldown"])
def test_names_this_version_does_not_count_are_not_read(key: str) -> None:
    assert UsageEvent.read(key) is None
