"""Scoring the matcher on labelled messages: guide accuracy, nudge precision and recall."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.matcher import Matcher, Observation


@dataclass(frozen=True)
class Labelled:
    text: str
    expected: str | None


@dataclass
class Scores:
    touchpoints: int = 0
    chatter: int = 0
    guide_correct: int = 0
    guide_quiet_on_chatter: int = 0
    nudged: int = 0
    nudged_correct: int = 0
    misses: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    false_nudges: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def guide_accuracy(self) -> float:
        return self.guide_correct / self.touchpoints if self.touchpoints else 0.0

    @property
    def guide_quiet(self) -> float:
        return self.guide_quiet_on_chatter / self.chatter if self.chatter else 0.0

    @property
    def nudge_precision(self) -> float:
        return self.nudged_correct / self.nudged if self.nudged else 1.0

    @property
    def nudge_recall(self) -> float:
        return self.nudged_correct / self.touchpoints if self.touchpoints else 0.0

    def summary(self) -> str:
        return (
            f"messages: {self.touchpoints} touchpoints, {self.chatter} chatter\n"
            f"guide top-1 accuracy: {self.guide_accuracy:.3f}\n"
            f"guide quiet on chatter: {self.guide_quiet:.3f}\n"
            f"nudge precision: {self.nudge_precision:.3f} ({self.nudged} nudges)\n"
            f"nudge recall: {self.nudge_recall:.3f}"
        )


def read_labelled(paths: Iterable[Path]) -> list[Labelled]:
    items = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(Labelled(str(row["text"]), row["expected"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled message: {exc}") from None
    return items


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
        if item.expected is None:
            scores.chatter += 1
            scores.guide_quiet_on_chatter += got is None
        else:
            scores.touchpoints += 1
            scores.guide_correct += got == item.expected
            if got != item.expected:
                scores.misses.append((item.text, item.expected, got))
        if nudged is not None:
            scores.nudged += 1
            if nudged == item.expected:
                scores.nudged_correct += 1
            else:
                scores.false_nudges.append((item.text, item.expected, nudged))
    return scores
