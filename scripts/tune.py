"""Search the matcher's decision knobs on half of the labelled messages, report both halves.

    python scripts/tune.py            # prints the best Tuning and its scores on each half

Fitting on the even lines and checking on the odd ones shows whether a setting
generalises or only memorises the data it was fitted on.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.matcher import Tuning  # noqa: E402
from touchpoint.evaluate import Scores, evaluate, read_labelled  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402


def objective(scores: Scores) -> float:
    """Guide accuracy, plus nudge recall once nudge precision reaches 0.95."""
    nudge = scores.nudge_recall if scores.nudge_precision >= 0.95 else -1.0
    return scores.guide_accuracy + 0.5 * scores.guide_quiet + nudge


def main() -> None:
    library = load_folder(ROOT / "playbooks")
    matcher = library.matcher
    items = read_labelled(sorted((ROOT / "tests" / "data").glob("eval_*.jsonl")))
    fit, check = items[0::2], items[1::2]
    best: tuple[float, Tuning] | None = None
    grid = itertools.product([1.0, 3.0, 6.0], [1.0, 3.0], [0.0, 2.0, 4.0],
                             [0.2, 0.3, 0.45], [0.5, 0.65, 0.8], [0.0, 0.2, 0.4])
    for gain, gate_gain, mid, guide, nudge, margin in grid:
        matcher.tuning = replace(Tuning(), trigger_gain=gain, gate_trigger=gate_gain,
                                 gate_mid=mid, guide_threshold=guide, nudge_threshold=nudge,
                                 nudge_margin=margin)
        value = objective(evaluate(matcher, fit))
        if best is None or value > best[0]:
            best = (value, matcher.tuning)
    assert best is not None
    matcher.tuning = best[1]
    print(best[1])
    for name, part in (("fit", fit), ("check", check), ("all", items)):
        print(f"--- {name}\n{evaluate(matcher, part).summary()}")


if __name__ == "__main__":
    main()
