"""Live playbooks: load a folder again, validate it whole, swap it in or keep the last good set.

Managers change playbooks while the bot serves, and a typo in one file must
never take guidance down: a new set is loaded and indexed off the event loop,
and only a fully valid set replaces the live one (in one assignment, through
`Handler.swap`); whatever goes wrong while loading one, even running out of
memory, makes it a rejected set. A rejected change is reported with every `file:line` error in
the log and to the admin who asked, or to `TOUCHPOINT_ADMIN_CHANNEL`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from adapters.outbound import Outbound
from adapters.retry_after import RetryPolicy, retrying
from bot.admin import ReloadOutcome, failure_reply
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.messages import Reply
from bot.playbooks import PlaybookErrors
from touchpoint.loader import load_folder
from touchpoint.metrics import Metrics

log = logging.getLogger("touchpoint.reload")

AdminReport = Callable[[Reply], Awaitable[bool]]
"""Posts a reply where admins read it (`TOUCHPOINT_ADMIN_CHANNEL`); False if it could not."""

REPORT_RETRY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=60.0, max_wait=60.0)
"""A report is worth a short wait (a 429, a 5xx), not a long one: the log has it anyway."""

Fingerprint = tuple[tuple[str, int, int], ...]

SETTLE = 0.25
"""Seconds a changed folder must stay unchanged before it is loaded: editors and `git
checkout` write several files, and a half-written set would only be rejected."""


def fingerprint(folder: Path) -> Fingerprint:
    """Name, modification time and size of every YAML file: cheap to poll, portable."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ()
    found = []
    for entry in entries:
        if entry.name.endswith((".yaml", ".yml")):
            try:
                info = entry.stat()
            except OSError:
                continue
            found.append((entry.name, info.st_mtime_ns, info.st_size))
    return tuple(sorted(found))


def _load(folder: Path, version: str) -> tuple[Fingerprint, PlaybookSet]:
    """Runs in a worker thread: reading, validating and indexing are the slow part."""
    seen = fingerprint(folder)
    return seen, load_folder(folder, version)


def _same(old: PlaybookSet, new: PlaybookSet) -> bool:
    return (old.version == new.version and old.playbooks == new.playbooks
            and old.background == new.background)


def admin_report(platform: str, channel: str,
                 outbound: Callable[[], Outbound | None]) -> AdminReport:
    """Reports to `channel` on `platform` like any post the bot starts itself: through the
    platform's `Outbound`, which `outbound` gives when a report is due (None: that
    platform is off here), tried again as `REPORT_RETRY` says."""

    async def post(reply: Reply) -> bool:
        sender = outbound()
        if sender is None:
            log.warning("TOUCHPOINT_ADMIN_CHANNEL is on %s, which is off", platform)
            return False
        result = await retrying(lambda: sender.send(channel, reply), REPORT_RETRY)
        if result.outcome != "posted":
            log.warning("the report to %s:%s was not posted (%s: %s)", platform, channel,
                        result.outcome, result.reason)
        return result.outcome == "posted"

    return post


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Reloader:
    """Owns "which folder is live" for one handler; every reload goes through `reload`."""

    def __init__(self, handler: Handler, folder: Path, *, report: AdminReport | None = None,
                 metrics: Metrics | None = None, clock: Callable[[], float] = time.time) -> None:
        self.handler = handler
        self.folder = folder
        self.report = report
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.loaded_at = clock()
        self.rejected: ReloadOutcome | None = None
        """The last rejected change, until a good set is loaded."""
        self._seen: Fingerprint | None = None
        self._lock = asyncio.Lock()

    async def reload(self, reason: str, *, requested_by: str = "", folder: Path | None = None,
                     version: str = "", shown_as: tuple[str, str] | None = None,
                     ) -> ReloadOutcome:
        """Load `folder` (default: the live one) and swap it in if every file is valid.

        `shown_as` rewrites a path prefix in error messages, so errors from a
        git checkout name the file as it is in the repository.
        """
        target = folder or self.folder
        async with self._lock:
            try:
                seen, library = await asyncio.to_thread(_load, target, version)
            except PlaybookErrors as exc:
                errors = [str(e) for e in exc.errors]
                return await self._reject(reason, requested_by, target, errors, shown_as)
            except Exception as exc:  # MemoryError, a bug: still only a rejected set
                if not isinstance(exc, OSError | ValueError):
                    log.error("loading %s failed unexpectedly", target, exc_info=exc)
                errors = [f"{target}: cannot load: {type(exc).__name__}: {exc}"]
                return await self._reject(reason, requested_by, target, errors, shown_as)
            live = self.handler.playbooks
            changed = not _same(live, library)
            if changed:
                self.handler.swap(library)
                self.loaded_at = self.clock()
            self.folder, self._seen = target, seen
            self.rejected = None
            self.metrics.reloads.inc("ok" if changed else "unchanged")
            log.info("playbooks %s after %s: %d playbooks%s from %s",
                     "reloaded" if changed else "unchanged", reason, len(library.playbooks),
                     f" (version {version})" if version else "", target)
            return ReloadOutcome(True, changed, library.version, len(library.playbooks),
                                 reason=reason)

    async def refuse(self, reason: str, errors: list[str], requested_by: str = "",
                     ) -> ReloadOutcome:
        """Report a change rejected before it could be loaded (a git commit's files)."""
        async with self._lock:
            return await self._reject(reason, requested_by, None, errors, None)

    async def _reject(self, reason: str, requested_by: str, target: Path | None,
                      errors: list[str], shown_as: tuple[str, str] | None) -> ReloadOutcome:
        if shown_as is not None:
            errors = [e.replace(shown_as[0], shown_as[1], 1) for e in errors]
        if target == self.folder:
            self._seen = await asyncio.to_thread(fingerprint, target)
        live = self.handler.playbooks
        outcome = ReloadOutcome(False, False, live.version, len(live.playbooks), tuple(errors),
                                reason)
        self.rejected = outcome
        self.metrics.reloads.inc("rejected")
        log.error("playbooks rejected after %s (%d errors); still serving the last good set "
                  "of %d playbooks:\n%s", reason, len(errors), len(live.playbooks),
                  "\n".join(f"  {e}" for e in errors))
        if not requested_by:
            await self.tell_admins(failure_reply(outcome))
        return outcome

    async def tell_admins(self, reply: Reply) -> None:
        """Post to the admin channel; without one, the log line above is the report."""
        if self.report is None:
            return
        try:
            if not await self.report(reply):
                log.warning("could not post the playbook report to TOUCHPOINT_ADMIN_CHANNEL")
        except Exception:  # a broken poster must not break reloading
            log.exception("posting the playbook report to TOUCHPOINT_ADMIN_CHANNEL failed")

    def remember_files(self) -> None:
        """Take the folder's fingerprint now, at start-up, right after the first load.

        Taken later, by the watcher once running, it could already include an edit
        made in between, which would then never be loaded.
        """
        self._seen = fingerprint(self.folder)

    async def watch(self, interval: float) -> None:
        """Poll the live folder every `interval` seconds and reload when a file changed."""
        if self._seen is None:
            self._seen = await asyncio.to_thread(fingerprint, self.folder)
        while True:
            await asyncio.sleep(interval)
            folder = self.folder
            now = await asyncio.to_thread(fingerprint, folder)
            if now == self._seen:
                continue
            await asyncio.sleep(SETTLE)
            if await asyncio.to_thread(fingerprint, folder) != now:
                continue  # still being written; look again next time
            await self.reload("a change in " + str(folder))

    def about(self) -> list[str]:
        lines = [f"Playbooks from {self.folder}, loaded {when(self.loaded_at)}."]
        if self.rejected is not None:
            lines.append(f"The latest change was rejected ({len(self.rejected.errors)} errors, "
                         f"first: {self.rejected.errors[0]}).")
        return lines
