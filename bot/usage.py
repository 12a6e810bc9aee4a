"""What the bot counts, as typed values, and the counter names they are stored under.

The store keeps counters by name (`guide:<playbook id>`, `unmatched`); those names are
written and read back only here, so the handler, the statistics and the process's
metrics agree on them, and counters already stored keep reading the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Counted(StrEnum):
    GUIDE = "guide"
    """A question answered with a playbook."""
    NUDGE = "nudge"
    """A playbook offered unasked, in a channel."""
    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"
    SHARE = "share"
    CORRECTION = "correction"
    """A "Not helpful" form answered, for the playbook that was shown."""
    UNMATCHED = "unmatched"
    """A question no playbook answered."""
    ADDED = "added"
    """The bot added to a conversation."""
    CALL_ENDED = "call_ended"
    """A nudge after a customer call built (one retried after a failed post may count twice)."""
    CALL_UNROUTED = "call_unrouted"
    """A customer call reported by a webhook whose owner nobody could find."""


PER_PLAYBOOK = frozenset({Counted.GUIDE, Counted.NUDGE, Counted.HELPFUL, Counted.NOT_HELPFUL,
                          Counted.SHARE, Counted.CORRECTION})
"""What is counted for one playbook, stored as `<kind>:<playbook id>`."""
TABLE = (Counted.GUIDE, Counted.NUDGE, Counted.HELPFUL, Counted.NOT_HELPFUL, Counted.SHARE)
"""The per-playbook counts the statistics show, in their table's order."""
FEEDBACK = (Counted.HELPFUL, Counted.NOT_HELPFUL, Counted.SHARE)
"""The buttons people press on an answer."""


@dataclass(frozen=True)
class UsageEvent:
    """One thing counted; `playbook` is set when the kind is counted per playbook."""

    kind: Counted
    playbook: str = ""

    @property
    def key(self) -> str:
        """The counter's name in the store."""
        return f"{self.kind.value}:{self.playbook}" if self.playbook else self.kind.value

    @classmethod
    def read(cls, key: str) -> UsageEvent | None:
        """The usage a stored counter name stands for; None for a name this version does not
        count (written by another version, or damaged)."""
        name, colon, playbook = key.partition(":")
        try:
            kind = Counted(name)
        except ValueError:
            return None
        if (kind in PER_PLAYBOOK) != bool(colon and playbook):
            return None
        return cls(kind, playbook)
