"""Following a git repository of playbooks, so a merged pull request is what the bot serves.

Every few minutes, on a signed webhook from the git host, on SIGHUP and on
`/touchpoint reload`, the branch head is fetched into a cache; a new commit is
checked out into a folder of its own (`trees/<sha>`, never changed afterwards)
and handed to the `Reloader`, which swaps it in only if every file is valid.

Several instances converge on one commit: each fetches the branch head itself,
and after a successful switch an instance publishes its commit in the shared
store, which the others watch, so the one instance the webhook reached pulls
the rest along within seconds rather than at their next scheduled fetch.

Git runs as an asyncio subprocess with a timeout and no terminal prompt, so a
slow or unreachable host never blocks the event loop or waits for a password.
A commit is looked at before it is checked out: one holding a symbolic link
(which could make the loader read, and quote in its errors, any file of the
server) or too big a tree is rejected like an invalid set, and remembered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.admin import ReloadOutcome
from bot.store import SharedValues, StoreError
from touchpoint.reload import Reloader, when
from touchpoint.settings import branch_digest

log = logging.getLogger("touchpoint.git")

GIT_TIMEOUT = 120.0
"""Seconds one git command may take; a clone of a playbook repository takes a few."""
CONVERGE_EVERY = 5.0
"""Seconds between two looks at the commit other instances published."""
TREES_KEPT = 2


class GitError(Exception):
    """A git command failed; the message is git's own last words, without credentials."""


class RefusedCommit(GitError):
    """A commit whose files are not checked out: symbolic links, or too much of them."""


BLOCK = 4096
"""What one file takes on disk at least: a commit of a million empty files is no small one."""


async def inspect(git_dir: Path, commit: str, max_bytes: int) -> None:
    """Refuse a commit that holds a symbolic link (it could point anywhere on the server, and
    the loader would read and quote it) or whose files would take more than `max_bytes`."""
    listing = await git(f"--git-dir={git_dir.absolute()}", "ls-tree", "-r", "-l", "-z",
                        "--full-tree", "--end-of-options", commit)
    links: list[str] = []
    total = 0
    for entry in filter(None, listing.split("\0")):
        info, _, path = entry.partition("\t")
        mode, _, rest = info.partition(" ")
        size = rest.split()[-1] if rest.split() else "-"
        if mode == "120000":
            links.append(path)
        elif size.isdigit():
            total += max(BLOCK, int(size))
    if links:
        shown = ", ".join(links[:5]) + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        raise RefusedCommit(f"{shown}: symbolic links are not followed out of the repository; "
                            "commit the files themselves")
    if total > max_bytes:
        raise RefusedCommit(f"its files take {total / 1e6:.1f} MB, more than the "
                            f"{max_bytes / 1e6:g} MB TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB allows")


def redact(url: str) -> str:
    """A repository URL as it may be logged: without `user:token@`."""
    return re.sub(r"(?<=://)[^/@\s]+@", "", url)


async def git(*args: str | Path, env: Mapping[str, str] | None = None,
              timeout: float = GIT_TIMEOUT) -> str:
    """Run git and return its standard output, stripped; raises `GitError`."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    process = await asyncio.create_subprocess_exec(
        "git", *map(str, args), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment)
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except TimeoutError:
        raise GitError(f"git {args[0] if args else ''} took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:  # timed out or cancelled (shutdown): no stray git
            process.kill()
            await process.wait()
    if process.returncode != 0:
        words = redact(err.decode(errors="replace").strip()).splitlines()
        raise GitError(words[-1] if words else f"git exited with {process.returncode}")
    return out.decode(errors="replace").strip()


async def checkout(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of `commit` into the new folder `dest`, appearing there all at once."""
    git_dir, dest = git_dir.absolute(), dest.absolute()  # git runs in another directory
    scratch = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}"
    tree = scratch / "tree"
    await asyncio.to_thread(scratch.mkdir, parents=True)
    try:
        env = {"GIT_INDEX_FILE": str(scratch / "index")}
        where = (f"--git-dir={git_dir}", f"--work-tree={scratch}")
        await git(*where, "read-tree", commit, env=env)
        await git(*where, "checkout-index", "-a", "-f", f"--prefix={tree}/", env=env)
        await asyncio.to_thread(_publish, tree, dest)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def _publish(tree: Path, dest: Path) -> None:
    tree.mkdir(exist_ok=True)  # a commit without files writes nothing
    if dest.exists():
        return  # another checkout of the same commit got there first: identical
    tree.rename(dest)


async def export_folder(folder: Path, revision: str, dest: Path) -> Path:
    """`folder` (inside a git work tree) as it was at `revision`, written under `dest`.

    For `touchpoint diff` and `touchpoint test --base`, which compare a playbook
    folder with an earlier version of itself.
    """
    if revision.startswith("-"):
        raise GitError(f"{revision!r} is not a revision")
    git_dir = Path(await git("-C", folder, "rev-parse", "--absolute-git-dir"))
    prefix = await git("-C", folder, "rev-parse", "--show-prefix")
    commit = await git("-C", folder, "rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{revision}^{{commit}}")
    await checkout(git_dir, commit, dest)
    return dest / prefix


class GitFollower:
    """One branch of one repository, checked out commit by commit into `cache`."""

    def __init__(self, url: str, branch: str, path: str, cache: Path, reloader: Reloader, *,
                 store: SharedValues | None = None, interval: float = 300.0,
                 converge_every: float = CONVERGE_EVERY, max_bytes: int = 50_000_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.max_bytes = max_bytes
        """The most a commit's checkout may take (`TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB`)."""
        self.branch = branch
        self.path = path
        self.cache = cache
        self.reloader = reloader
        self.store = store
        self.interval = interval
        self.converge_every = converge_every
        self.clock = clock
        self.commit = ""
        """The commit being served; empty until one was loaded."""
        self.subject = ""
        self.fetched_at: float | None = None
        self.problem = ""
        """Why the last fetch failed; empty when it worked."""
        self.shared_key = "playbooks-commit:" + branch_digest(url, branch)
        """The store value where instances following this same branch publish their commit."""
        self._rejected: dict[str, ReloadOutcome] = {}
        self._chased = ""
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._again = ""

    @property
    def repo(self) -> Path:
        return self.cache / "repo.git"

    def describe(self) -> str:
        return f"{redact(self.url)} ({self.branch}{', ' + self.path if self.path else ''})"

    async def fetch(self) -> str:
        """The branch head's commit, fetched into the cache (created on first use)."""
        if not await asyncio.to_thread((self.repo / "HEAD").exists):
            await asyncio.to_thread(self.cache.mkdir, parents=True, exist_ok=True)
            await git("init", "--quiet", "--bare", self.repo)
        ref = f"refs/remotes/origin/{self.branch}"
        await git("--git-dir", self.repo, "fetch", "--quiet", "--no-tags", "--force",
                  "--end-of-options", self.url, f"+refs/heads/{self.branch}:{ref}")
        self.fetched_at = self.clock()
        return await git("--git-dir", self.repo, "rev-parse", "--verify", f"{ref}^{{commit}}")

    async def sync(self, reason: str, *, requested_by: str = "") -> ReloadOutcome:
        """Fetch, and serve the branch head if it is new and valid."""
        async with self._lock:
            try:
                head = await self.fetch()
            except (GitError, OSError) as exc:
                self.problem = f"fetching {self.describe()} failed: {exc}"
                log.warning("git: %s (after %s); still serving %s", self.problem, reason,
                            self.commit[:12] or "the playbooks loaded before")
                return self._unchanged(reason, ok=False, errors=(self.problem,))
            self.problem = ""
            if head == self.commit:
                return self._unchanged(reason)
            if head in self._rejected:
                return self._rejected[head]
            return await self._switch(head, reason, requested_by)

    async def _switch(self, head: str, reason: str, requested_by: str) -> ReloadOutcome:
        tree = self.cache / "trees" / head
        try:
            await inspect(self.repo, head, self.max_bytes)  # a tree kept from before too
            if not await asyncio.to_thread(tree.exists):
                await checkout(self.repo, head, tree)
        except RefusedCommit as exc:
            outcome = await self.reloader.refuse(f"{reason} (commit {head[:12]})",
                                                 [f"commit {head[:12]}: {exc}"], requested_by)
            self._rejected[head] = outcome
            return outcome
        except (GitError, OSError) as exc:
            self.problem = f"checking out {head[:12]} failed: {exc}"
            log.error("git: %s", self.problem)
            return self._unchanged(reason, ok=False, errors=(self.problem,))
        folder = tree / self.path if self.path else tree
        outcome = await self.reloader.reload(
            f"{reason} (commit {head[:12]})", requested_by=requested_by, folder=folder,
            version=head[:12], shown_as=(f"{tree}{os.sep}", ""))
        if not outcome.ok:
            self._rejected[head] = outcome
            await asyncio.to_thread(shutil.rmtree, tree, True)
            return outcome
        try:
            subject = await git("--git-dir", self.repo, "log", "-1", "--format=%s", head)
        except GitError:
            subject = ""
        self.commit, self.subject = head, subject
        await self._publish(head)
        await asyncio.to_thread(self._prune, head)
        return outcome

    def _unchanged(self, reason: str, *, ok: bool = True,
                   errors: tuple[str, ...] = ()) -> ReloadOutcome:
        live = self.reloader.handler.playbooks
        return ReloadOutcome(ok, False, live.version, len(live.playbooks), errors, reason)

    async def _publish(self, commit: str) -> None:
        if self.store is None:
            return
        try:
            await self.store.set_value(self.shared_key, commit)
        except StoreError as exc:  # instances still fetch on time
            log.warning("git: cannot publish commit %s to the store (%s: %s)", commit[:12],
                        type(exc).__name__, exc)

    def _prune(self, keep: str) -> None:
        """Old checkouts go, except the newest few (a reload may still be reading one)."""
        trees = self.cache / "trees"
        try:
            others = sorted((p for p in trees.iterdir() if p.name != keep
                             and not p.name.startswith(".")),
                            key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for old in others[TREES_KEPT - 1:]:
            shutil.rmtree(old, ignore_errors=True)

    def request_sync(self, reason: str) -> None:
        """Sync soon, in the background; requests during a sync are merged into one more."""
        if self._pending is not None and not self._pending.done():
            self._again = reason
            return
        self._pending = asyncio.create_task(self._sync_until_quiet(reason))

    async def _sync_until_quiet(self, reason: str) -> None:
        while reason:
            self._again = ""
            try:
                await self.sync(reason)
            except Exception:  # a bug here must not end the follower
                log.exception("git: sync after %s failed", reason)
            reason = self._again

    async def run(self) -> None:
        """Fetch every `interval` seconds; between fetches, follow the published commit."""
        next_fetch = self.clock() + self.interval if self.interval else float("inf")
        while True:
            wait = next_fetch - self.clock()
            if self.store is not None:
                wait = min(wait, self.converge_every)
            await asyncio.sleep(max(0.05, wait))
            if self.clock() >= next_fetch:
                next_fetch = self.clock() + self.interval
                self.request_sync("the scheduled fetch")
            elif self.store is not None:
                await self._follow_published()

    async def _follow_published(self) -> None:
        assert self.store is not None
        try:
            published = await self.store.get_value(self.shared_key)
        except StoreError:  # only slows convergence down
            return
        if (published and published != self.commit and published != self._chased
                and published not in self._rejected):
            self._chased = published
            self.request_sync(f"commit {published[:12]} published by another instance")

    async def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)

    def about(self) -> list[str]:
        lines = [f"Following {self.describe()}."]
        if self.commit:
            subject = f' "{self.subject}"' if self.subject else ""
            lines.append(f"Live commit {self.commit}{subject}.")
        else:
            lines.append("No commit loaded yet: serving the playbooks loaded at start.")
        if self.fetched_at is not None:
            lines.append(f"Last fetched {when(self.fetched_at)}.")
        if self.problem:
            lines.append(f"Problem: {self.problem}.")
        return lines
