"""Fit the matcher's decision knobs on half of the labelled messages, report both halves.

    python scripts/tune.py

Guide and nudge are fitted separately: guide for accuracy on customer moments and
quiet on chatter, nudge for the highest recall whose precision stays at 0.96 or more
on the fitting half. Fitting on the even lines and checking on the odd ones shows
whether a setting generalises or only memorises the data it was fitted on.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.matcher import Observation  # noqa: E402
from touchpoint.evaluate import Labelled, evaluate_observed, read_labelled  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402

Seen = list[tuple[Labelled, Observation]]


def main() -> None:
    matcher = load_folder(ROOT / "playbooks").matcher
    items = read_labelled(sorted((ROOT / "tests" / "data").glob("eval_*.jsonl")))
    fit, check = items[0::2], items[1::2]
    base = matcher.tuning
    best_value, best = -1.0, base
    for gain, gate_gain in itertools.product([1.5, 3.0, 5.0], [1.5, 3.0, 5.0]):
        shared = replace(base, trigger_gain=gain, gate_trigger=gate_gain)
        matcher.tuning = shared
        seen = [(item, matcher.observe(item.text)) for item in fit]
        guide_value, guide = -1.0, shared
        for mid, threshold in itertools.product([0.0, 1.0, 2.0, 3.0, 4.0],
                                                [0.15, 0.2, 0.3, 0.4]):
            matcher.tuning = replace(shared, guide_gate_mid=mid, guide_threshold=threshold)
            s = evaluate_observed(matcher, seen)
            value = s.guide_accuracy + 0.5 * s.guide_quiet
            if value > guide_value:
                guide_value, guide = value, matcher.tuning
        nudge_value, tuned = -1.0, guide
        for mid, threshold, margin in itertools.product([2.0, 3.0, 4.0, 5.0, 6.0],
                                                        [0.4, 0.5, 0.6, 0.7], [0.0, 0.2]):
            matcher.tuning = replace(guide, gate_mid=mid, nudge_threshold=threshold,
                                     nudge_margin=margin)
            s = evaluate_observed(matcher, seen)
            value = s.nudge_recall if s.nudge_precision >= 0.96 else -1.0
            if value > nudge_value:
                nudge_value, tuned = value, matcher.tuning
        if guide_value + nudge_value > best_value:
            best_value, best = guide_value + nudge_value, tuned
    matcher.tuning = best
    print(best)
    for name, part in (("fit", fit), ("check", check), ("all", items)):
        seen = [(item, matcher.observe(item.text)) for item in part]
        print(f"--- {name}\n{evaluate_observed(matcher, seen).summary()}")


if __name__ == "__main__":
    main()
