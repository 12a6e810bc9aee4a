"""Messages per second through the matcher, against the usual rule-bot baseline.

The baseline is what rule-based chat bots usually do: try every trigger's
regular expression in turn. Both run in the same process on the same messages,
so the ratio holds on any machine.

    python bench/matching.py            # shipped playbooks, 1,000 and 10,000 triggers
    python bench/matching.py --quick    # fewer rounds
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.library import PlaybookSet  # noqa: E402
from bot.playbooks import Playbook  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402

WORDS = (
    "account quote invoice booth webinar refund renewal contract pilot demo kickoff "
    "review comment gift swag shipment feature request ticket bug outage escalation "
    "partner vendor budget discount seats license onboarding training handoff lead "
    "referral testimonial survey integration export dashboard report migration"
).split()


def generated(triggers: int, seed: int = 7) -> list[Playbook]:
    """A synthetic set: `triggers` phrase and regex triggers over 20-trigger playbooks."""
    rng = random.Random(seed)
    per = 20
    playbooks = []
    for n in range(triggers // per):
        items = []
        for k in range(per):
            words = [rng.choice(WORDS) + str(rng.randrange(500)) for _ in range(rng.randint(1, 3))]
            if k % 10 == 9:
                items.append({"regex": rf"\b{words[0]}(?:s|ed)?\b", "weight": 0.6})
            else:
                items.append({"phrase": " ".join(words), "weight": round(rng.random(), 2)})
        examples = [" ".join(rng.choice(WORDS) + str(rng.randrange(500)) if rng.random() < 0.5
                             else rng.choice(WORDS) for _ in range(8)) for _ in range(10)]
        playbooks.append(Playbook.model_validate({
            "id": f"gen-{n}", "title": f"Generated {n}", "summary": "s", "guidance": ["g"],
            "nudge": "n", "prompts": ["p"], "triggers": items,
            "examples": {"match": examples, "no_match": []},
        }))
    return playbooks


class Baseline:
    """Every trigger as a compiled regex, all tried for every message."""

    def __init__(self, playbooks: Sequence[Playbook]) -> None:
        self.rules = []
        for playbook in playbooks:
            for trigger in playbook.triggers:
                if trigger.veto is not None:
                    continue
                pattern = trigger.regex or rf"\b{re.escape(trigger.text)}\b"
                self.rules.append((playbook.id, re.compile(pattern, re.IGNORECASE),
                                   trigger.weight))

    def match(self, text: str) -> str | None:
        scores: dict[str, float] = {}
        for pid, pattern, weight in self.rules:
            if pattern.search(text):
                scores[pid] = scores.get(pid, 0.0) + weight
        return max(scores, key=lambda k: scores[k]) if scores else None


def rate(fn: Callable[[str], object], messages: Sequence[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in messages:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return len(messages) / best


def messages() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests" / "data").glob("eval_*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    texts = messages()
    loaded = load_folder(ROOT / "playbooks")
    shipped = list(loaded.playbooks)
    sets = [("shipped", shipped), ("1,000 triggers", generated(1_000)),
            ("10,000 triggers", generated(10_000))]
    print(f"{len(texts)} messages, best of {rounds} rounds\n")
    print("| playbook set | triggers | guide msg/s | nudge msg/s | baseline msg/s "
          "| guide / baseline | build s | index MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, playbooks in sets:
        tracemalloc.start()
        start = time.perf_counter()
        library = PlaybookSet.build(playbooks, loaded.background)
        build = time.perf_counter() - start
        memory = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        baseline = Baseline(playbooks)
        match = library.matcher.match
        guide = rate(lambda t, m=match: m(t, "guide"), texts, rounds)  # type: ignore[misc]
        nudge = rate(lambda t, m=match: m(t, "nudge"), texts, rounds)  # type: ignore[misc]
        base = rate(baseline.match, texts, rounds)
        count = sum(len(p.triggers) for p in playbooks)
        print(f"| {name} | {count:,} | {guide:,.0f} | {nudge:,.0f} | {base:,.0f} "
              f"| {guide / base:.1f}x | {build:.2f} | {memory:.1f} |")


if __name__ == "__main__":
    main()
