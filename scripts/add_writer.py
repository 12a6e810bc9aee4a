"""Teach the playbooks a training writer's messages: customer moments become examples of
their playbook, chatter and near-misses become background lines.

    python scripts/add_writer.py tests/data/corpus/train/w16.jsonl [...]

Only files under `train/` are taken: the test writers' messages never reach a playbook.
Each line goes to the end of the block the training writers already have (the comment
naming tests/data/corpus in each playbook, the last section of background.yaml); a line
already there, in any case, is skipped. Run `touchpoint check` and `scripts/tune.py` after.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
MARK = "# Written by the training writers of tests/data/corpus (train/)"
ITEM = re.compile(r'^\s+- (".*")\s*$')


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def _known(lines: list[str]) -> set[str]:
    known = set()
    for line in lines:
        if found := ITEM.match(line):
            try:
                known.add(json.loads(found.group(1)).strip().lower())
            except json.JSONDecodeError:
                known.add(found.group(1)[1:-1].strip().lower())
    return known


def _add_examples(path: Path, texts: list[str]) -> int:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if MARK in line)
    end = next(i for i in range(start + 1, len(lines)) if not ITEM.match(lines[i]))
    known = _known(lines)
    new = [t for t in dict.fromkeys(texts) if t.strip().lower() not in known]
    lines[end:end] = [f"    - {_quoted(t)}\n" for t in new]
    path.write_text("".join(lines), encoding="utf-8")
    return len(new)


def _add_background(path: Path, texts: list[str]) -> int:
    text = path.read_text(encoding="utf-8")
    known = _known(text.splitlines())
    new = [t for t in dict.fromkeys(texts) if t.strip().lower() not in known]
    path.write_text(text.rstrip("\n") + "\n" + "".join(f"  - {_quoted(t)}\n" for t in new),
                    encoding="utf-8")
    return len(new)


def main(paths: list[str]) -> int:
    by_playbook: dict[str | None, list[str]] = {}
    for name in paths:
        path = Path(name).resolve()
        if path.parent.name != "train":
            print(f"{name}: only training writers' files (train/) may become examples")
            return 2
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            by_playbook.setdefault(item["expected"], []).append(item["text"])
    for playbook, texts in sorted(by_playbook.items(), key=lambda kv: str(kv[0])):
        if playbook is None:
            added = _add_background(PLAYBOOKS / "background.yaml", texts)
        else:
            added = _add_examples(PLAYBOOKS / f"{playbook}.yaml", texts)
        print(f"{playbook or 'background'}: {added} added of {len(texts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
