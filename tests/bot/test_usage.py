"""Usage counters keep the names they were stored under, and read back as what was counted."""

from __future__ import annotations

import pytest

from bot.usage import PER_PLAYBOOK, Counted, Usage


@pytest.mark.parametrize(("usage", "key"), [
    (Usage(Counted.GUIDE, "price-objection"), "guide:price-objection"),
    (Usage(Counted.NOT_HELPFUL, "renewal"), "not_helpful:renewal"),
    (Usage(Counted.CORRECTION, "renewal"), "correction:renewal"),
    (Usage(Counted.UNMATCHED), "unmatched"),
    (Usage(Counted.ADDED), "added"),
    (Usage(Counted.CALL_ENDED), "call_ended"),
    (Usage(Counted.CALL_UNROUTED), "call_unrouted"),
])
def test_the_stored_names_are_unchanged_and_read_back(usage: Usage, key: str) -> None:
    assert usage.key == key
    assert Usage.read(key) == usage


def test_every_kind_round_trips() -> None:
    for kind in Counted:
        usage = Usage(kind, "pb:with:colons" if kind in PER_PLAYBOOK else "")
        assert Usage.read(usage.key) == usage


@pytest.mark.parametrize("key", ["", "guide", "guide:", "unknown:x", "unmatched:x", "cooldown"])
def test_names_this_version_does_not_count_are_not_read(key: str) -> None:
    assert Usage.read(key) is None
