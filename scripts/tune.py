"""Fit the matcher's decision knobs on the corpus's training writers, never on the test split.

    python scripts/tune.py

The training writers' messages are also playbook examples, so scoring them with the
shipped set would only measure memory. Instead the writers are dealt into folds; for
each fold a matcher is built from the playbooks with that fold's writers' messages taken
out (examples and background alike) and reads only that fold's messages. Every knob
is then chosen on those held-out readings: guide for accuracy plus quiet on chatter,
nudge for the highest recall whose precision stays at PRECISION or more. To show the
choice generalises, the knobs are first fitted on all folds but the last and scored on
the last one's writers; the shipped knobs are the fit on every fold.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.matcher import Matcher, Observation, Tuning  # noqa: E402
from bot.playbook_set import PlaybookSet  # noqa: E402
from bot.playbooks import Background  # noqa: E402
from touchpoint.evaluate import Labelled, Scores, evaluate_observed, read_labelled  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402

FOLDS = 3
PRECISION = 0.90
"""A wrong nudge interrupts a channel; below this the fit will not buy recall."""

Fold = tuple[Matcher, list[tuple[Labelled, Observation]]]


def without(library: PlaybookSet, texts: set[str]) -> PlaybookSet:
    """The set with every example and background line in `texts` taken out."""
    def keep(lines: Sequence[str]) -> list[str]:
        return [line for line in lines if line.strip() not in texts]

    playbooks = [p.model_copy(update={"examples": p.examples.model_copy(update={
        "match": keep(p.examples.match), "no_match": keep(p.examples.no_match)})})
        for p in library.playbooks]
    background = library.background
    if background is not None:
        background = Background(examples=keep(background.examples))
    return PlaybookSet.build(playbooks, background, tuning=library.matcher.tuning)


def folds(library: PlaybookSet, items: list[Labelled]) -> list[Fold]:
    writers = sorted({item.writer or "" for item in items})
    out = []
    for k in range(FOLDS):
        held = set(writers[k::FOLDS])
        heldout = [item for item in items if item.writer in held]
        matcher = without(library, {item.text.strip() for item in heldout}).matcher
        out.append((matcher, [(item, matcher.observe(item.text)) for item in heldout]))
    return out


def score(parts: Sequence[Fold], tuning: Tuning) -> Scores:
    total = Scores()
    for matcher, seen in parts:
        matcher.tuning = tuning
        scores = evaluate_observed(matcher, seen)
        for name in ("touchpoints", "chatter", "guide_asked", "guide_correct", "guide_top2",
                     "guide_quiet_on_chatter", "nudge_reports", "nudged", "nudged_correct"):
            setattr(total, name, getattr(total, name) + getattr(scores, name))
    return total


def fit(parts: Sequence[Fold], base: Tuning) -> Tuning:
    best_value, best = -1.0, base
    for rank_gain, rank_gate, gate_gain in itertools.product([8.0, 12.0, 20.0], [2.0, 4.0], [3.0]):
        shared = replace(base, temperature=3.0, trigger_gain=15.0, gate_trigger=gate_gain,
                         example_gain=30.0, rank_gain=rank_gain, rank_gate=rank_gate)
        guide_value, guide = -1.0, shared
        for mid, threshold in itertools.product([0.0, 1.0, 2.0, 3.0], [0.3, 0.4, 0.5]):
            tuning = replace(shared, guide_gate_mid=mid, guide_threshold=threshold)
            s = score(parts, tuning)
            value = s.guide_accuracy + s.guide_quiet
            if value > guide_value:
                guide_value, guide = value, tuning
        nudge_value, tuned = -1.0, guide
        # a nudge's gate no laxer than the guide's: never a nudge /touchpoint would not give
        mids = [m for m in (2.0, 3.0, 4.0, 5.0) if m >= guide.guide_gate_mid]
        for mid, threshold, margin in itertools.product(mids, [0.6, 0.7, 0.8], [0.0]):
            tuning = replace(guide, gate_mid=mid, nudge_threshold=threshold, nudge_margin=margin)
            s = score(parts, tuning)
            value = s.nudge_recall if s.nudge_precision >= PRECISION else s.nudge_precision - 1
            if value > nudge_value:
                nudge_value, tuned = value, tuning
        print(f"  rank {rank_gain}/{rank_gate} gate {gate_gain}: guide {guide_value:.3f} "
              f"nudge {nudge_value:.3f}", flush=True)
        if guide_value + nudge_value > best_value:
            best_value, best = guide_value + nudge_value, tuned
    return best


def main() -> None:
    library = load_folder(ROOT / "playbooks")
    items = read_labelled(sorted((ROOT / "tests" / "data" / "corpus" / "train").glob("*.jsonl")))
    parts = folds(library, items)
    base = library.matcher.tuning
    writers = sorted({item.writer or "" for item, _ in parts[-1][1]})
    tuning = fit(parts[:-1], base)
    print(f"--- fitted without {', '.join(writers)}, checked on them\n"
          f"{score(parts[-1:], tuning).summary()}", flush=True)
    best = fit(parts, base)
    print(f"--- every fold, fitted on all of them\n{score(parts, best).summary()}")
    print(best, flush=True)


if __name__ == "__main__":
    main()
