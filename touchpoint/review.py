"""Review tooling for playbook pull requests: annotations, capture reports, `touchpoint diff`.

A reviewer of a playbook change wants to see its effect before merging: errors
on the right line of the pull request, examples of other playbooks the change
now takes, and messages that match differently than before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path

from bot import change_effects
from bot.matcher import Mode
from bot.playbook_set import PlaybookSet
from bot.playbooks import PlaybookError, PlaybookErrors
from touchpoint.git import GitError, export_folder
from touchpoint.loader import load_folder

MAX_SHOWN = 60
"""Lines of examples per report section; a reviewer reads the first screenful."""


def _escape(text: str, *, prop: bool = False) -> str:
    """GitHub's workflow-command escaping (data, and stricter for properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_annotation(error: PlaybookError, title: str = "touchpoint check") -> str:
    """`::error file=...,line=...,col=...,title=...::message`, shown on the pull request line."""
    where = (f"file={_escape(error.source, prop=True)},line={error.line},col={error.column},"
             f"title={_escape(title + (': ' + error.path if error.path else ''), prop=True)}")
    message = f"{error.path}: {error.message}" if error.path else error.message
    return f"::error {where}::{_escape(message)}"


def print_errors(errors: Iterable[PlaybookError], fmt: str) -> None:
    for error in errors:
        if fmt == "github":
            print(github_annotation(error))
        print(error, file=sys.stderr)


def resolve(spec: str, default_folder: Path, scratch: Path) -> Path:
    """A playbook folder from `DIR`, `REV` (the default folder at that revision) or `REV:DIR`."""
    if Path(spec).is_dir():
        return Path(spec)
    revision, sep, folder = spec.partition(":")
    target = Path(folder) if sep and folder else default_folder
    dest = scratch / f"rev-{len(list(scratch.iterdir()))}"
    try:
        return asyncio.run(export_folder(target, revision, dest))
    except (GitError, OSError) as exc:
        raise PlaybookErrors([PlaybookError(spec, 1, 1, "", f"neither a folder nor a git "
                                            f"revision of {target}: {exc}")]) from None


def load_spec(spec: str, default_folder: Path, stack: ExitStack) -> PlaybookSet:
    scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="touchpoint-")))
    return load_folder(resolve(spec, default_folder, scratch))


def read_messages(paths: Sequence[str]) -> list[str]:
    """Messages from files: JSON lines with a `text` field (the eval format) or plain lines."""
    found: list[str] = []
    for name in paths:
        for number, line in enumerate(Path(name).read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    text = json.loads(line).get("text")
                except (ValueError, AttributeError):
                    text = None
                if not isinstance(text, str):
                    raise ValueError(f"{name}:{number}: expected a JSON object with a text field")
                found.append(text)
            else:
                found.append(line)
    return found


def _name(playbook: str | None) -> str:
    return playbook or "(none)"


def cmd_diff(args: argparse.Namespace, default_folder: Path) -> int:
    """`touchpoint diff OLD NEW`: the messages that match differently."""
    with ExitStack() as stack:
        try:
            old = load_spec(args.old, default_folder, stack)
            new = load_spec(args.new, default_folder, stack)
            extra = read_messages(args.messages or [])
        except PlaybookErrors as exc:
            print_errors(exc.errors, "text")
            return 2
        except (OSError, ValueError) as exc:
            print(exc, file=sys.stderr)
            return 2
    messages = list(dict.fromkeys([*change_effects.example_messages(old, new), *extra]))
    modes: tuple[Mode, ...] = ("guide", "nudge") if args.mode == "both" else (args.mode,)
    changes = change_effects.diff_matches(old, new, messages, modes)
    if args.json:
        for change in changes:
            print(json.dumps({"text": change.text, "mode": change.mode, "before": change.before,
                              "after": change.after, "before_score": change.before_score,
                              "after_score": change.after_score}, ensure_ascii=False))
    else:
        width = max((len(f"{_name(c.before)} -> {_name(c.after)}") for c in changes), default=0)
        for change in changes:
            move = f"{_name(change.before)} -> {_name(change.after)}"
            print(f"{change.mode:5}  {move:{width}}  \"{change.text}\"")
        per_mode = ", ".join(f"{m} {sum(c.mode == m for c in changes)}" for m in modes)
        print(f"{len({c.text for c in changes})} of {len(messages)} messages match "
              f"differently ({per_mode})")
    return 1 if changes and args.exit_code else 0


def capture_report(new: PlaybookSet, changed: Sequence[str],
                   old: PlaybookSet | None) -> list[str]:
    """The lines `touchpoint test --changed/--base` adds after the per-playbook results."""
    lines = []
    unknown = [pid for pid in changed if pid not in new.by_id]
    for pid in unknown:
        lines.append(f"warning: --changed {pid}: no such playbook")
    found = change_effects.captures(new, changed, old)
    for pid, items in found.items():
        since = " since the base" if old is not None else ""
        if not items:
            lines.append(f"{pid}: captures no example of another playbook{since}")
            continue
        lines.append(f"{pid}: now captures {len(items)} example(s) of other playbooks{since}:")
        for item in items[:MAX_SHOWN]:
            was = f", was {item.before:.2f}" if item.before is not None else ""
            if item.kind == "takes":
                what = f"takes {item.owner}'s example ({item.score:.2f}{was})"
            elif item.kind == "contests":
                what = (f"contests {item.owner}'s example ({item.score:.2f} behind "
                        f"{_name(item.winner)}{was})")
            else:
                what = f"would nudge on background chatter ({item.score:.2f}{was})"
            lines.append(f'  {what}: "{item.text}"')
        if len(items) > MAX_SHOWN:
            lines.append(f"  ... and {len(items) - MAX_SHOWN} more")
    return lines


def changed_against_base(new: PlaybookSet, base: str, default_folder: Path,
                         ) -> tuple[PlaybookSet, list[str]]:
    """The base set (folder or git revision) and the ids that differ from it."""
    with ExitStack() as stack:
        old = load_spec(base, default_folder, stack)
    return old, change_effects.changed_ids(old, new)
