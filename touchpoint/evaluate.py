"""Scoring the matcher on labelled messages: guide accuracy, nudge precision and recall."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.matcher import Matcher, MatchResult, Observation
from bot.runner_up import runner_up

Kind = Literal["guide", "channel"]


@dataclass(frozen=True)
class Labelled:
    """One message and its playbook (None: chatter).

    `mode` says where it was written: "guide" for a question after /touchpoint, "channel"
    for a message in a channel. A message without one counts in both, as the first
    evaluation set was scored. `writer` names who wrote it, so a split by writer is visible.
    """

    text: str
    expected: str | None
    mode: Kind | None = None
    writer: str | None = None


@dataclass
class Situation:
    """One playbook's share of the figures: its questions and its channel reports."""

    asked: int = 0
    correct: int = 0
    reports: int = 0
    nudged: int = 0

    @property
    def guide_accuracy(self) -> float:
        return self.correct / self.asked if self.asked else 0.0

    @property
    def nudge_recall(self) -> float:
        return self.nudged / self.reports if self.reports else 0.0


@dataclass
class Scores:
    touchpoints: int = 0
    chatter: int = 0
    guide_asked: int = 0
    guide_correct: int = 0
    guide_top2: int = 0
    guide_quiet_on_chatter: int = 0
    nudge_reports: int = 0
    nudged: int = 0
    nudged_correct: int = 0
    misses: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    false_nudges: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    situations: dict[str, Situation] = field(default_factory=dict)

    @property
    def guide_accuracy(self) -> float:
        return self.guide_correct / self.guide_asked if self.guide_asked else 0.0

    @property
    def guide_top2_accuracy(self) -> float:
        return self.guide_top2 / self.guide_asked if self.guide_asked else 0.0

    @property
    def guide_quiet(self) -> float:
        return self.guide_quiet_on_chatter / self.chatter if self.chatter else 0.0

    @property
    def nudge_precision(self) -> float:
        return self.nudged_correct / self.nudged if self.nudged else 1.0

    @property
    def nudge_recall(self) -> float:
        return self.nudged_correct / self.nudge_reports if self.nudge_reports else 0.0

    def summary(self) -> str:
        return (
            f"messages: {self.touchpoints} touchpoints, {self.chatter} chatter\n"
            f"guide top-1 accuracy: {self.guide_accuracy:.3f} ({self.guide_asked} questions)\n"
            f"guide top-2 accuracy: {self.guide_top2_accuracy:.3f}\n"
            f"guide quiet on chatter: {self.guide_quiet:.3f}\n"
            f"nudge precision: {self.nudge_precision:.3f} ({self.nudged} nudges)\n"
            f"nudge recall: {self.nudge_recall:.3f} ({self.nudge_reports} channel reports)"
        )

    def by_situation(self) -> str:
        """Guide accuracy and nudge recall per expected playbook, as a Markdown table."""
        rows = ["| playbook | guide accuracy | questions | nudge recall | channel reports |",
                "|---|---:|---:|---:|---:|"]
        for pid, s in sorted(self.situations.items()):
            rows.append(f"| {pid} | {s.guide_accuracy:.2f} | {s.asked} "
                        f"| {s.nudge_recall:.2f} | {s.reports} |")
        return "\n".join(rows)


def read_labelled(paths: Iterable[Path]) -> list[Labelled]:
    items = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(_labelled(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled message: {exc}") from None
    return items


def _labelled(row: object) -> Labelled:
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    expected, mode, writer = row["expected"], row.get("mode"), row.get("writer")
    if expected is not None and not isinstance(expected, str):
        raise ValueError(f"expected must be a playbook id or null, not {expected!r}")
    if mode not in (None, "guide", "channel"):
        raise ValueError(f'mode must be "guide" or "channel", not {mode!r}')
    if writer is not None and not isinstance(writer, str):
        raise ValueError(f"writer must be a string, not {writer!r}")
    return Labelled(str(row["text"]), expected, mode, writer)


def evaluate(matcher: Matcher, items: Iterable[Labelled]) -> Scores:
    return evaluate_observed(matcher, ((item, matcher.observe(item.text)) for item in items))


def evaluate_observed(matcher: Matcher, seen: Iterable[tuple[Labelled, Observation]]) -> Scores:
    """Score decisions on messages already observed, so knobs can be tried without re-reading."""
    scores = Scores()
    for item, observation in seen:
        guide = matcher.decide(observation, "guide")
        nudge = matcher.decide(observation, "nudge")
        got = guide.best.playbook if guide.best else None
        nudged = nudge.best.playbook if nudge.best else None
        asked = item.mode in (None, "guide")
        posted = item.mode in (None, "channel")
        situation = None
        if item.expected is None:
            scores.chatter += 1
            scores.guide_quiet_on_chatter += got is None
        else:
            scores.touchpoints += 1
            situation = scores.situations.setdefault(item.expected, Situation())
        if item.expected is not None and situation is not None and asked:
            situation.asked += 1
            situation.correct += got == item.expected
            scores.guide_asked += 1
            scores.guide_correct += got == item.expected
            scores.guide_top2 += item.expected in _on_screen(guide)
            if got != item.expected:
                scores.misses.append((item.text, item.expected, got))
        if not posted:
            continue
        scores.nudge_reports += item.expected is not None
        if situation is not None:
            situation.reports += 1
            situation.nudged += nudged == item.expected
        if nudged is not None:
            scores.nudged += 1
            if nudged == item.expected:
                scores.nudged_correct += 1
            else:
                scores.false_nudges.append((item.text, item.expected, nudged))
    return scores


def _on_screen(guide: MatchResult) -> tuple[str, ...]:
    """The playbooks a guide answer puts in front of the asker: the answer and its runner-up
    button, or with no answer the two closest it suggests."""
    if guide.best is None:
        return tuple(c.playbook for c in guide.candidates[:2])
    second = runner_up(guide, {c.playbook for c in guide.candidates})
    return (guide.best.playbook,) + ((second.playbook,) if second else ())
