"""A validated playbook set with its matcher: the unit that is loaded and swapped.

Building the matcher is the expensive part of a reload, so it happens here,
once per set, and the handler swaps in a finished set in one assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.matcher import Matcher, Tuning
from bot.playbooks import Playbook, parse_playbooks


@dataclass(frozen=True)
class PlaybookSet:
    playbooks: tuple[Playbook, ...]
    matcher: Matcher
    version: str = ""
    by_id: Mapping[str, Playbook] = field(default_factory=dict)

    @classmethod
    def build(
        cls, playbooks: Sequence[Playbook], version: str = "", tuning: Tuning | None = None
    ) -> PlaybookSet:
        return cls(
            playbooks=tuple(playbooks),
            matcher=Matcher(playbooks, tuning),
            version=version,
            by_id=MappingProxyType({p.id: p for p in playbooks}),
        )

    @classmethod
    def parse(cls, documents: Iterable[tuple[str, str]], version: str = "") -> PlaybookSet:
        """Validate `(source, text)` pairs and index them; raises `PlaybookErrors`."""
        return cls.build(parse_playbooks(documents), version)
