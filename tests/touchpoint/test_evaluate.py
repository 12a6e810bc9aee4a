"""The shipped playbooks keep their measured quality on the held-out evaluation set.

The floors sit a little under the figures in the README, so an edit that makes
the matcher clearly worse fails here before it reaches a channel.
"""

from __future__ import annotations

from pathlib import Path

from bot.library import PlaybookSet
from touchpoint.evaluate import evaluate, read_labelled

DATA = Path(__file__).resolve().parents[1] / "data"


def test_evaluation_set_is_large_and_balanced() -> None:
    items = read_labelled(sorted(DATA.glob("eval_*.jsonl")))
    touchpoints = [i for i in items if i.expected is not None]
    assert len(items) >= 300
    assert len(touchpoints) * 2 >= len(items) * 0.8
    assert len({i.text for i in items}) == len(items)


def test_quality_floors(library: PlaybookSet) -> None:
    examples = {e.lower() for p in library.playbooks for e in p.examples.match}
    items = read_labelled(sorted(DATA.glob("eval_*.jsonl")))
    assert not [i.text for i in items if i.text.lower() in examples]
    scores = evaluate(library.matcher, items)
    assert scores.guide_accuracy >= 0.90
    assert scores.guide_quiet >= 0.88
    assert scores.nudge_precision >= 0.95
    assert scores.nudge_recall >= 0.80
