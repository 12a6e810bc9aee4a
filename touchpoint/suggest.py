"""`touchpoint suggest`: the answers to "Not helpful" and the unanswered questions, as a patch.

The bot never changes the playbooks itself: this prints a unified diff a manager
reads, edits and commits (`git apply`), and shows its effect with the same report
as `touchpoint diff`. A correction's question goes to the playbook people chose
(background.yaml for "none"). An unanswered question goes to the playbook that
came closest, marked with a comment to check, since nobody chose it; one that no
playbook came near (under `runner_up.FLOOR`, the score a second playbook needs to be
offered) is only listed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot import analytics, feedback, runner_up
from bot.library import PlaybookSet
from bot.playbooks import PlaybookErrors
from bot.store import StoreError, Usage
from touchpoint import review
from touchpoint.example_patch import Addition, PatchError, add_examples, playbook_id
from touchpoint.loader import BACKGROUND, load_folder, playbook_files
from touchpoint.server import opened_store
from touchpoint.settings import Settings

DEFAULT_WEEKS = 12
MATCH_PATH = ("examples", "match")
BACKGROUND_PATH = ("examples",)


@dataclass
class Plan:
    """What goes where: additions per playbook id (`feedback.NONE`: background.yaml)."""

    additions: dict[str, list[Addition]] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)
    """Unanswered questions no playbook came near."""
    skipped: list[str] = field(default_factory=list)
    """Why some answers were left out (already an example, playbook gone)."""

    @property
    def messages(self) -> list[str]:
        return [a.text for found in self.additions.values() for a in found]


def _key(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" ?!.")


def plan(library: PlaybookSet, corrections: Sequence[feedback.Correction],
         questions: Iterable[str], background: Iterable[str] = ()) -> Plan:
    """Where each message goes; the same message (case and spacing aside) once only, a
    person's choice before the matcher's guess, and nothing that is already an example."""
    found = Plan()
    known = {_key(e) for p in library.playbooks for e in p.examples.match}
    known |= {_key(e) for e in background}
    seen: set[str] = set()
    for correction in corrections:
        key = _key(correction.question)
        if not key or key in seen:
            continue
        seen.add(key)
        if key in known:
            found.skipped.append(f'already an example: "{correction.question}"')
            continue
        if correction.chosen != feedback.NONE and correction.chosen not in library.by_id:
            found.skipped.append(f'{correction.chosen} is no longer a playbook: '
                                 f'"{correction.question}"')
            continue
        note = f"was shown {correction.shown}" + (f"; why: {correction.why}"
                                                  if correction.why else "")
        found.additions.setdefault(correction.chosen, []).append(
            Addition(correction.question, note))
    for question in questions:
        key = _key(question)
        if not key or key in seen or key in known:
            continue
        seen.add(key)
        result = library.matcher.match(question, "guide")
        near = result.best or next(iter(result.suggestions(1)), None)
        if near is None or near.score < runner_up.FLOOR:
            found.unplaced.append(question)
            continue
        found.additions.setdefault(near.playbook, []).append(Addition(
            question, f"unanswered; closest was {near.playbook} ({near.score:.2f}): check"))
    return found


def patched_files(folder: Path, found: Plan) -> dict[Path, tuple[str, str]]:
    """Each file the plan changes: its text before and after."""
    files: dict[str, Path] = {}
    for path in playbook_files(folder):
        pid = playbook_id(path.read_text(encoding="utf-8"))
        if pid is not None:
            files.setdefault(pid, path)
    changed: dict[Path, tuple[str, str]] = {}
    for pid, additions in found.additions.items():
        where: tuple[str, ...]
        if pid == feedback.NONE:
            path, where = folder / BACKGROUND, BACKGROUND_PATH
            before = path.read_text(encoding="utf-8") if path.exists() else "examples:\n"
        else:
            if pid not in files:
                raise PatchError(f"no file in {folder} has id: {pid}")
            path, where = files[pid], MATCH_PATH
            before = path.read_text(encoding="utf-8")
        after = add_examples(changed.get(path, (before, before))[1], where, additions)
        changed[path] = (changed.get(path, (before, ""))[0], after)
    return changed


def unified_diff(changed: dict[Path, tuple[str, str]], root: Path) -> str:
    """One patch for every changed file, with paths `git apply` takes from `root`."""
    parts: list[str] = []
    for path in sorted(changed):
        before, after = changed[path]
        name = _relative(path, root)
        exists = path.exists()
        parts.extend(difflib.unified_diff(
            before.splitlines(keepends=True) if exists else [],
            after.splitlines(keepends=True), fromfile=f"a/{name}" if exists else "/dev/null",
            tofile=f"b/{name}"))
    return "".join(parts)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def repository_root(folder: Path) -> Path:
    """The git work tree holding `folder` (where `git apply` runs), else the current folder."""
    for candidate in (folder.resolve(), *folder.resolve().parents):
        if (candidate / ".git").exists():
            return candidate
    return Path.cwd()


async def gather(store: Usage, weeks: Sequence[str], questions: int,
                 ) -> tuple[list[feedback.Correction], list[str]]:
    corrections = await feedback.read_corrections(store, weeks)
    asked: list[str] = []
    if questions > 0:
        for week in weeks:
            asked.extend(await store.questions(week, questions))
    return corrections, asked


def cmd_suggest(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    if not settings.uses_redis:
        print("touchpoint suggest reads the shared store: set REDIS_URL (and "
              "TOUCHPOINT_REDIS_PREFIX) as for touchpoint serve. Without Redis the answers "
              "live in the server's memory and are gone when it stops.", file=sys.stderr)
        return 2
    try:
        library = load_folder(folder)
    except PlaybookErrors as exc:
        review.print_errors(exc.errors, "text")
        return 2
    weeks = analytics.recent_weeks(time.time(), max(1, args.weeks))

    async def run() -> tuple[list[feedback.Correction], list[str]]:
        async with opened_store(settings) as store:
            return await gather(store, weeks, 0 if args.no_questions
                                else analytics.QUESTIONS_KEPT)

    try:
        corrections, asked = asyncio.run(run())
    except StoreError as exc:  # one line, not a traceback
        print(f"cannot read the store: {exc}", file=sys.stderr)
        return 1
    chatter = library.background.examples if library.background is not None else []
    found = plan(library, corrections, asked, chatter)
    try:
        changed = patched_files(folder, found)
    except (PatchError, OSError) as exc:
        print(f"cannot write the patch: {exc}", file=sys.stderr)
        return 1
    patch = unified_diff(changed, repository_root(folder))
    report = sys.stderr if args.output is None else sys.stdout
    for note in found.skipped:
        print(f"skipped: {note}", file=report)
    for question in found.unplaced:
        print(f'no playbook came near, left out: "{question}"', file=report)
    if not patch:
        print(f"Nothing to suggest from {len(corrections)} answers and {len(asked)} unanswered "
              f"questions in {len(weeks)} weeks.", file=report)
        return 0
    if args.output is None:
        sys.stdout.write(patch)
        sys.stdout.flush()
    else:
        Path(args.output).write_text(patch, encoding="utf-8")
        print(f"wrote {args.output}: {len(found.messages)} examples; review it, then "
              f"git apply {args.output}", file=report)
    return effect(folder, changed, found.messages, report)


def effect(folder: Path, changed: dict[Path, tuple[str, str]], messages: Sequence[str],
           report: TextIO) -> int:
    """`touchpoint diff` between the folder and the folder with the patch applied, on the
    new examples and every example of both sets; 1 when the patched set does not load."""
    with tempfile.TemporaryDirectory(prefix="touchpoint-suggest-") as scratch:
        patched = Path(scratch) / "playbooks"
        shutil.copytree(folder, patched)
        for path, (_, after) in changed.items():
            (patched / path.relative_to(folder)).write_text(after, encoding="utf-8")
        listed = Path(scratch) / "messages.txt"
        listed.write_text("\n".join(messages) + "\n", encoding="utf-8")
        args = argparse.Namespace(old=str(folder), new=str(patched), messages=[str(listed)],
                                  mode="both", json=False, exit_code=False)
        print("\nEffect of the patch (touchpoint diff):", file=report)
        with contextlib.redirect_stdout(report):
            code = review.cmd_diff(args, folder)
    return 1 if code == 2 else 0
