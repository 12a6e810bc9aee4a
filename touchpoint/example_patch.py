"""Adding example messages to a playbook or background file's text, the rest left as it was.

A manager reviews the result as a diff, so the files' comments, order, quoting and
indentation must survive: the new examples are written as lines after the list's
last item, in the indentation its items already use, and nothing else is touched.
Pure text in, text out; the caller checks the result by loading it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")
_ITEM = re.compile(r"^(?P<indent> *)- ")
_ID = re.compile(r"^id\s*:\s*['\"]?(?P<id>[\w.-]+)['\"]?\s*(?:#.*)?$", re.MULTILINE)
_EMPTY_FLOW = re.compile(r"^\s*\[\s*\]\s*(?:#.*)?$")


@dataclass(frozen=True)
class Addition:
    """One example to add, and an optional note shown as a comment after it."""

    text: str
    note: str = ""


class PatchError(ValueError):
    """The file's layout is not one this tool can add to without rewriting it."""


def playbook_id(text: str) -> str | None:
    """The top-level `id:` of a playbook file's text, if it has one."""
    found = _ID.search(text)
    return found.group("id") if found else None


def quoted(text: str) -> str:
    """A YAML double-quoted scalar on one line (JSON's escapes are YAML's)."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def add_examples(text: str, path: Sequence[str], additions: Sequence[Addition]) -> str:
    """`text` with `additions` appended to the block list at `path` (`("examples", "match")`
    in a playbook, `("examples",)` in background.yaml)."""
    if not additions:
        return text
    lines = text.split("\n")
    start, end, indent = _block(lines, path)
    key_line = lines[start]
    rest = _KEY.match(key_line)
    assert rest is not None
    inline = rest.group("rest").split("#", 1)[0].strip()
    items = [i for i in range(start + 1, end) if _item_indent(lines[i]) >= indent]
    if inline and not _EMPTY_FLOW.match(inline):
        raise PatchError(f"{'.'.join(path)} is written on one line ({inline[:40]}); "
                         "write it as a list of '- ' lines to add to it")
    if inline:  # `match: []`: becomes a block list, its comment kept
        comment = rest.group("rest").partition("#")[2]
        lines[start] = key_line[:key_line.index(":") + 1] + (f"  #{comment}" if comment else "")
    if items:
        item_indent = _item_indent(lines[items[0]])
        after = _item_end(lines, items[-1], end, item_indent)
    else:
        item_indent = indent + 2
        after = start + 1
    new = [f"{' ' * item_indent}- {quoted(a.text)}" + (f"  # {_one_line(a.note)}" if a.note
                                                       else "") for a in additions]
    lines[after:after] = new
    return "\n".join(lines)


def _block(lines: list[str], path: Sequence[str]) -> tuple[int, int, int]:
    """The line of the last key in `path`, the line after its block, and its indentation."""
    start, end, indent = -1, len(lines), -1
    for depth, key in enumerate(path):
        found = None
        for number in range(start + 1, end):
            match = _KEY.match(lines[number])
            if match and match.group("key") == key and len(match.group("indent")) > indent \
                    and (depth > 0 or not match.group("indent")):
                found = number, len(match.group("indent"))
                break
        if found is None:
            raise PatchError(f"no {'.'.join(path[:depth + 1])} in the file")
        start, indent = found
        end = _block_end(lines, start, end, indent)
    return start, end, indent


def _block_end(lines: list[str], start: int, limit: int, indent: int) -> int:
    """The first line after `start` that is back at `indent` or less (comments and blank
    lines belong to whatever follows them)."""
    last = start
    for number in range(start + 1, limit):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) - len(line.lstrip(" ")) <= indent and not (
                _ITEM.match(line) and len(line) - len(line.lstrip(" ")) == indent):
            return last + 1
        last = number
    return last + 1


def _item_end(lines: list[str], item: int, end: int, indent: int) -> int:
    """The line after the last item's text (a long item may continue on more lines)."""
    last = item
    for number in range(item + 1, end):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) - len(line.lstrip(" ")) <= indent:
            break
        last = number
    return last + 1


def _item_indent(line: str) -> int:
    """The indentation of a `- ` list item's line; -1 for any other line."""
    match = _ITEM.match(line)
    return len(match.group("indent")) if match else -1


def _one_line(text: str) -> str:
    return " ".join(text.split())
