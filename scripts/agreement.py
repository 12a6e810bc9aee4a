"""How well a careful reader does on the test writers' channel messages, as a nudge would.

    python scripts/agreement.py

Two readers who had not seen the playbooks, the corpus's labels or each other's answers
labelled the test writers' 838 channel messages (shuffled, the writers' names removed)
with one situation id or none, from the list of situations alone
(`tests/data/corpus/readers/`). Scored like a nudge against the writers' own labels:
precision over the messages a reader gave a situation, recall over the customer moments.
It says what the words allow: the matcher's nudge figures are read against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from touchpoint.evaluate import read_labelled  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"


def main() -> None:
    gold = {item.text: item.expected for item in read_labelled(sorted(
        (CORPUS / "test").glob("*.jsonl"))) if item.mode == "channel"}
    answers: dict[str, dict[str, str | None]] = {}
    for path in sorted((CORPUS / "readers").glob("*.jsonl")):
        answers[path.stem] = {row["text"]: row["label"] for row in map(
            json.loads, path.read_text(encoding="utf-8").splitlines())}
    moments = sum(1 for label in gold.values() if label is not None)
    print("| reader | same label | nudge precision | nudge recall | messages |")
    print("|---|---:|---:|---:|---:|")
    for name, said in answers.items():
        missing = set(gold) - set(said)
        if missing:
            raise SystemExit(f"{name}: no answer for {len(missing)} message(s)")
        same = sum(said[text] == label for text, label in gold.items())
        named = [text for text in gold if said[text] is not None]
        right = sum(said[text] == gold[text] for text in named)
        print(f"| {name} | {same / len(gold):.3f} | {right / len(named):.3f} "
              f"| {right / moments:.3f} | {len(gold)} |")
    if len(answers) == 2:
        one, two = answers.values()
        print(f"the two readers agree on {sum(one[t] == two[t] for t in gold) / len(gold):.3f}")


if __name__ == "__main__":
    main()
