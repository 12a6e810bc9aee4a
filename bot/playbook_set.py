"""A validated playbook set with its matcher: the unit that is loaded and swapped.

Building the matcher is the expensive part of a reload, so it happens here,
once per set, and the handler swaps in a finished set in one assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.matcher import Matcher, Tuning
from bot.playbooks import Background, Playbook, parse_background, parse_playbooks


@dataclass(frozen=True)
class PlaybookSet:
    playbooks: tuple[Playbook, ...]
    matcher: Matcher
    version: str = ""
    by_id: Mapping[str, Playbook] = field(default_factory=dict)
    background: Background | None = None

    @classmethod
    def build(
        cls,
        playbooks: Sequence[Playbook],
        background: Background | None = None,
        version: str = "",
        tuning: Tuning | None = None,
    ) -> PlaybookSet:
        chatter = background.examples if background is not None else []
        return cls(
            playbooks=tuple(playbooks),
            matcher=Matcher(playbooks, chatter, tuning),
            version=version,
            by_id=MappingProxyType({p.id: p for p in playbooks}),
            background=background,
        )

    @classmethod
    def parse(
        cls, documents: Iterable[tuple[str, str]], background: tuple[str, str] | None = None,
        version: str = "",
    ) -> PlaybookSet:
        """Validate `(source, text)` pairs and index them; raises `PlaybookErrors`."""
        playbooks = parse_playbooks(documents)
        chatter = parse_background(*background) if background is not None else None
        return cls.build(playbooks, chatter, version)
