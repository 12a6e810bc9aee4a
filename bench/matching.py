"""Messages per second through the matcher, against the usual rule-bot baseline,
and what ten times the learnt examples cost.

The baseline is what rule-based chat bots usually do: try every trigger's
regular expression in turn. Both run in the same process on the same messages,
so the ratio holds on any machine.

The scale table loads the shipped set and the shipped set grown to 15,400 match
examples, its no_match and background lines by the same factor (variants of its own,
so the vocabulary grows as a larger set's would), each in a fresh process: load time
(validating the playbook YAML as the loader does, and building the indexes; the grown
background.yaml is past the loader's 256 KiB cap per file, so it is read here without
it), the memory the load added to the process, and the 95th percentile over the
messages of each one's best time of three, per mode: the cost of the message, not of
the machine's other work.

    python bench/matching.py            # shipped playbooks, 1,000 and 10,000 triggers; scale
    python bench/matching.py --quick    # fewer rounds
    python bench/matching.py --scale 15400  # one set grown to 15,400 examples, as JSON
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.playbook_set import PlaybookSet  # noqa: E402
from bot.playbooks import Background, Playbook, parse_playbooks  # noqa: E402
from bot.text import words as words_of  # noqa: E402
from touchpoint.loader import load_folder, playbook_files  # noqa: E402

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


SCALED = 15_400
"""Match examples in the generated set: ten times the 1,540 the playbooks held before
they learnt from the corpus's training writers."""


def variants(texts: Sequence[str], factor: float, rng: random.Random) -> list[str]:
    """`factor` times as many lines: each original, then rewrites of them in which
    about a third of the words come from other lines of the same list, and a name or
    number no line had, as a set grown by many writers would read."""
    pool = [w for text in texts for w in words_of(text)] or ["word"]
    out = list(texts)
    while len(out) < round(factor * len(texts)):
        line = words_of(rng.choice(texts)) or ["word"]
        line = [rng.choice(pool) if rng.random() < 0.33 else w for w in line]
        line.insert(rng.randrange(len(line) + 1), f"{rng.choice(WORDS)}{rng.randrange(10**4)}")
        out.append(" ".join(line))
    return out


def scaled_documents(target: int) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """The shipped YAML with every example list and the background grown by one factor,
    so that the playbooks hold about `target` match examples (0: as shipped)."""
    rng = random.Random(target)
    folder = ROOT / "playbooks"
    loaded = [yaml.safe_load(path.read_text(encoding="utf-8"))
              for path in playbook_files(folder)]
    shipped = sum(len(data["examples"]["match"]) for data in loaded)
    factor = target / shipped if target else 1.0
    documents = []
    for path, data in zip(playbook_files(folder), loaded, strict=True):
        if factor > 1:
            examples = data["examples"]
            for key in ("match", "no_match"):
                if examples.get(key):
                    examples[key] = variants(examples[key], factor, rng)
        documents.append((str(path), yaml.safe_dump(data, allow_unicode=True)))
    background = yaml.safe_load((folder / "background.yaml").read_text(encoding="utf-8"))
    if factor > 1:
        background["examples"] = variants(background["examples"], factor, rng)
    return documents, ("background.yaml", yaml.safe_dump(background, allow_unicode=True))


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def scale_row(target: int, texts: Sequence[str]) -> dict[str, float]:
    """Load the set grown to `target` match examples and time one message at a time."""
    documents, background = scaled_documents(target)
    before = rss_mib()
    start = time.perf_counter()
    playbooks = parse_playbooks(documents)
    chatter = Background.model_validate(yaml.load(background[1], Loader=FastLoader))
    library = PlaybookSet.build(playbooks, chatter)
    load = time.perf_counter() - start
    added = rss_mib() - before
    row = {"load_s": load, "rss_mib": added,
           "examples": sum(len(p.examples.match) for p in library.playbooks),
           "no_match": sum(len(p.examples.no_match) for p in library.playbooks),
           "background": len(library.background.examples) if library.background else 0}
    for mode in ("guide", "nudge"):
        best = [float("inf")] * len(texts)
        for _ in range(3):
            for n, text in enumerate(texts):
                began = time.perf_counter_ns()
                library.matcher.match(text, mode)  # type: ignore[arg-type]
                best[n] = min(best[n], time.perf_counter_ns() - began)
        times = sorted(best)
        row[f"{mode}_p95_ms"] = times[int(0.95 * len(times))] / 1e6
        row[f"{mode}_p50_ms"] = times[len(times) // 2] / 1e6
    return row


def scale_table(texts: Sequence[str]) -> None:
    rows = []
    for target in (0, SCALED):
        done = subprocess.run([sys.executable, __file__, "--scale", str(target)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout))
    base = rows[0]
    print(f"\nscale: {len(texts)} messages, best of 3 each, each set in a fresh process\n")
    print("| set | match examples | no_match | background | load s | RSS added MiB "
          "| guide p50 ms | guide p95 ms | nudge p50 ms | nudge p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in zip(("shipped", "generated"), rows, strict=True):
        print(f"| {name} | {row['examples']:,.0f} | {row['no_match']:,.0f} "
              f"| {row['background']:,.0f} "
              f"| {row['load_s']:.2f} | {row['rss_mib']:.0f} | {row['guide_p50_ms']:.2f} "
              f"| {row['guide_p95_ms']:.2f} | {row['nudge_p50_ms']:.2f} "
              f"| {row['nudge_p95_ms']:.2f} |")
    top = rows[-1]
    keys = ("examples", "no_match", "background", "load_s", "rss_mib", "guide_p50_ms",
            "guide_p95_ms", "nudge_p50_ms", "nudge_p95_ms")
    print("| ratio | " + " | ".join(f"{top[k] / base[k]:.1f}x" for k in keys) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=int, help="only load the shipped set grown to this "
                        "many match examples (0: as shipped) and print its figures as JSON")
    args = parser.parse_args()
    if args.scale is not None:
        print(json.dumps(scale_row(args.scale, messages())))
        return
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
    scale_table(texts)


if __name__ == "__main__":
    main()
