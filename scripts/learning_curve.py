"""How the test writers' figures grow with the number of training writers.

    python scripts/learning_curve.py

The matcher is rebuilt with a share of the training writers' lines taken out of the
playbooks (examples and background alike, as `scripts/tune.py` does for its folds), three
random draws per share, and read on the test split. Besides the shipped nudge it prints
the recall a nudge could keep at 0.90 and 0.95 precision: channel messages ranked by the
best playbook's score, cut where precision would fall below. It says what more writers
would buy before anyone writes them.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from tune import without  # noqa: E402

from bot.matcher import Matcher, Observation  # noqa: E402
from touchpoint.evaluate import Labelled, evaluate_observed, read_labelled  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"
SHARES = (0.25, 0.5, 0.75, 1.0)
DRAWS = 3
PRECISIONS = (0.90, 0.95)


def recall_at(matcher: Matcher, seen: Sequence[tuple[Labelled, Observation]],
              precision: float) -> float:
    """The matcher's best answers on the channel messages, by score: see `kept_recall`."""
    ranked = []
    for item, observation in seen:
        if item.mode != "channel":
            continue
        best = matcher.decide(observation, "guide").best
        if best is not None:
            ranked.append((best.score, best.playbook == item.expected))
    moments = sum(1 for item, _ in seen if item.mode == "channel" and item.expected)
    return kept_recall(ranked, moments, precision)


def kept_recall(answers: Sequence[tuple[float, bool]], moments: int,
                precision: float) -> float:
    """The most recall kept with precision at `precision` or more, past the first 20
    answers, when only the answers scored highest are given: (score, right) each."""
    right, most = 0, 0.0
    for count, (_, correct) in enumerate(sorted(answers, key=lambda a: -a[0]), start=1):
        right += correct
        if count > 20 and right / count >= precision:
            most = right / moments
    return most


def main() -> None:
    library = load_folder(ROOT / "playbooks")
    train = read_labelled(sorted((CORPUS / "train").glob("*.jsonl")))
    test = read_labelled(sorted((CORPUS / "test").glob("*.jsonl")))
    writers = sorted({item.writer or "" for item in train})
    print("| training writers | top-1 | nudge precision @ recall | "
          + " | ".join(f"recall at {p:.2f}" for p in PRECISIONS) + " |")
    print("|---:|---:|---:|" + "---:|" * len(PRECISIONS))
    for share in SHARES:
        rows: list[tuple[float, ...]] = []
        for draw in range(DRAWS if share < 1 else 1):
            keep = set(random.Random(draw).sample(writers, round(len(writers) * share)))
            matcher = without(library, {item.text.strip() for item in train
                                        if item.writer not in keep}).matcher
            seen = [(item, matcher.observe(item.text)) for item in test]
            scores = evaluate_observed(matcher, seen)
            rows.append((scores.guide_correct / scores.guide_asked,
                         scores.nudged_correct / max(scores.nudged, 1),
                         scores.nudged_correct / scores.nudge_reports,
                         *(recall_at(matcher, seen, p) for p in PRECISIONS)))
        mean = [sum(row[k] for row in rows) / len(rows) for k in range(len(rows[0]))]
        print(f"| {round(len(writers) * share)} | {mean[0]:.3f} | {mean[1]:.3f} @ {mean[2]:.3f} | "
              + " | ".join(f"{value:.3f}" for value in mean[3:]) + " |", flush=True)


if __name__ == "__main__":
    main()
