"""Reading playbook files from disk: the I/O that `bot/` leaves to its callers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.playbook_set import PlaybookSet
from bot.playbooks import (
    MAX_FILE_BYTES,
    Background,
    Playbook,
    PlaybookError,
    PlaybookErrors,
    parse_background,
    parse_playbooks,
)
from bot.routing import ROUTING, Routing, parse_routing
from bot.schedule import Subscription, parse_schedule

log = logging.getLogger("touchpoint.loader")

BACKGROUND = "background.yaml"
SCHEDULE = "schedule.yaml"
NOT_PLAYBOOKS = frozenset({"schedule.yaml", "schedule.yml", BACKGROUND, ROUTING})


def playbook_files(folder: Path) -> list[Path]:
    """Every playbook file in a folder, in a stable order."""
    if not folder.is_dir():
        raise PlaybookErrors([PlaybookError(str(folder), 1, 1, "", "no such folder")])
    found = [
        path
        for path in folder.iterdir()
        if path.suffix in (".yaml", ".yml") and path.name not in NOT_PLAYBOOKS
        and not path.name.startswith(".") and path.is_file()
    ]
    return sorted(found)


def _read_text(path: Path) -> str:
    """A playbook, background or schedule file's text: UTF-8, at most `MAX_FILE_BYTES`; else a
    `PlaybookError` saying why not."""
    try:
        with path.open("rb") as file:  # never more than the cap, even if the file grows
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"file is larger than {MAX_FILE_BYTES} bytes")
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, ValueError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise PlaybookError(str(path), 1, 1, "", reason) from None


def read_documents(folder: Path) -> tuple[list[tuple[str, str]], list[PlaybookError]]:
    """`(source, text)` for each readable playbook file, and an error for each other."""
    documents: list[tuple[str, str]] = []
    errors: list[PlaybookError] = []
    for path in playbook_files(folder):
        try:
            documents.append((str(path), _read_text(path)))
        except PlaybookError as exc:
            errors.append(exc)
    if not documents and not errors:
        errors.append(PlaybookError(str(folder), 1, 1, "", "no playbook files (*.yaml) here"))
    return documents, errors


def load_folder(folder: Path, version: str = "") -> PlaybookSet:
    """Validate and index a folder of playbooks; raises `PlaybookErrors` with every problem."""
    documents, errors = read_documents(folder)
    playbooks: list[Playbook] = []
    background: Background | None = None
    try:
        playbooks = parse_playbooks(documents)
    except PlaybookErrors as exc:
        errors.extend(exc.errors)
    path = folder / BACKGROUND
    if path.is_file():
        try:
            background = parse_background(str(path), _read_text(path))
        except PlaybookErrors as exc:
            errors.extend(exc.errors)
        except PlaybookError as exc:
            errors.append(exc)
    if errors:
        raise PlaybookErrors(errors)
    return PlaybookSet.build(playbooks, background, version)


def load_schedule(folder: Path, playbook_ids: Iterable[str]) -> list[Subscription]:
    """The prompt schedule in `folder/schedule.yaml` (none if absent); `PlaybookErrors` if bad."""
    path = folder / SCHEDULE
    if not path.is_file():
        return []
    try:
        text = _read_text(path)
    except PlaybookError as exc:
        raise PlaybookErrors([exc]) from None
    return parse_schedule(str(path), text, playbook_ids)


def load_routing(folder: Path) -> Routing:
    """Where call nudges go, from `folder/routing.yaml` (the defaults if absent);
    `PlaybookErrors` if it is bad."""
    path = folder / ROUTING
    if not path.is_file():
        return Routing()
    try:
        text = _read_text(path)
    except PlaybookError as exc:
        raise PlaybookErrors([exc]) from None
    return parse_routing(str(path), text)


class LiveRouting:
    """`routing.yaml` of the live playbook folder, read again when it changes.

    A file that does not validate is logged and the last good routing kept, as a
    bad playbook keeps the last good set: the nudges keep going where they went.
    """

    def __init__(self, folder: Callable[[], Path]) -> None:
        self._folder = folder
        self._seen: tuple[Path, int, int] | None = None
        self._routing = Routing()

    def current(self) -> Routing:
        path = self._folder() / ROUTING
        try:
            stat = path.stat()
            seen = (path, stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = (path, 0, -1)
        if seen != self._seen:
            self._seen = seen
            try:
                self._routing = load_routing(path.parent)
            except PlaybookErrors as exc:
                log.error("routing.yaml rejected; keeping the routing in use:\n%s",
                          "\n".join(f"  {e}" for e in exc.errors))
        return self._routing
