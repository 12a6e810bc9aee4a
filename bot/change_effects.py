"""What a playbook change does to matching, for a reviewer to see before merging.

Two questions: which messages match differently between two playbook sets
(`touchpoint diff`), and which of the other playbooks' examples a changed
playbook now pulls towards itself (`touchpoint test --changed/--base`). A
change that helps one situation often quietly takes messages from another;
the examples of all the others are the cheapest place to see that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.matcher import MatchResult, Mode
from bot.playbook_set import PlaybookSet

CaptureKind = Literal["takes", "contests", "nudges"]


@dataclass(frozen=True)
class Change:
    """One message whose decision differs between the old and the new set."""

    text: str
    mode: Mode
    before: str | None
    after: str | None
    before_score: float
    after_score: float


@dataclass(frozen=True)
class Capture:
    """An example of another playbook (or background chatter) a changed playbook now reaches.

    `takes`: the changed playbook now wins it. `contests`: it now scores above the
    guide threshold behind the winner (the example has become ambiguous).
    `nudges`: background chatter on which it would now nudge a channel.
    """

    playbook: str
    kind: CaptureKind
    owner: str
    """The playbook the example belongs to, or `background`."""
    text: str
    score: float
    winner: str | None
    before: float | None
    """The changed playbook's score on it in the base set; None without a base."""


def changed_ids(old: PlaybookSet, new: PlaybookSet) -> list[str]:
    """Playbooks of `new` that are added or differ from `old`, in `new`'s order."""
    return [p.id for p in new.playbooks if old.by_id.get(p.id) != p]


def example_messages(*sets: PlaybookSet) -> list[str]:
    """Every example of every set (match, no_match, background), each once, in order."""
    seen: dict[str, None] = {}
    for library in sets:
        for playbook in library.playbooks:
            seen.update(dict.fromkeys(playbook.examples.match))
            seen.update(dict.fromkeys(playbook.examples.no_match))
        if library.background is not None:
            seen.update(dict.fromkeys(library.background.examples))
    return list(seen)


def _top(result: MatchResult) -> tuple[str | None, float]:
    return (result.best.playbook, result.best.score) if result.best else (None, 0.0)


def diff_matches(old: PlaybookSet, new: PlaybookSet, messages: Iterable[str],
                 modes: Sequence[Mode] = ("guide", "nudge")) -> list[Change]:
    """The messages whose decision (a playbook or none) differs, per mode."""
    changes = []
    for text in messages:
        old_seen, new_seen = old.matcher.observe(text), new.matcher.observe(text)
        for mode in modes:
            before, before_score = _top(old.matcher.decide(old_seen, mode))
            after, after_score = _top(new.matcher.decide(new_seen, mode))
            if before != after:
                changes.append(Change(text, mode, before, after, before_score, after_score))
    return changes


def _score_of(result: MatchResult, playbook: str) -> float:
    return next((c.score for c in result.candidates if c.playbook == playbook), 0.0)


def captures(new: PlaybookSet, changed: Iterable[str],
             old: PlaybookSet | None = None) -> dict[str, list[Capture]]:
    """For each changed playbook, the others' examples it takes or contests.

    With `old`, only what is new: an example it already took or contested in
    the base set is not reported again.
    """
    threshold = new.matcher.tuning.guide_threshold
    found: dict[str, list[Capture]] = {}
    wanted = [pid for pid in changed if pid in new.by_id]
    for playbook_id in wanted:
        found[playbook_id] = []
    if not wanted:
        return found
    for owner in new.playbooks:
        for text in owner.examples.match:
            result = new.matcher.match(text, "guide")
            before_result = old.matcher.match(text, "guide") if old is not None else None
            for pid in wanted:
                if pid == owner.id:
                    continue
                score = _score_of(result, pid)
                winner = result.best.playbook if result.best else None
                kind: CaptureKind | None = "takes" if winner == pid else (
                    "contests" if score >= threshold else None)
                if kind is None:
                    continue
                before = _score_of(before_result, pid) if before_result is not None else None
                if before_result is not None and before is not None and (
                        _top(before_result)[0] == pid or
                        (kind == "contests" and before >= threshold)):
                    continue
                found[pid].append(Capture(pid, kind, owner.id, text, score, winner, before))
    chatter = new.background.examples if new.background is not None else []
    for text in chatter:
        winner, score = _top(new.matcher.match(text, "nudge"))
        if winner not in found:
            continue
        before = None
        if old is not None:
            old_result = old.matcher.match(text, "nudge")
            if _top(old_result)[0] == winner:
                continue
            before = _score_of(old_result, winner)
        assert winner is not None
        found[winner].append(Capture(winner, "nudges", "background", text, score, winner,
                                     before))
    return found
