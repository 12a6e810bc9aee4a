"""Helpers for the live-playbook tests: small playbook copies, local git repositories, polling.

The tests edit real files and push to real (local) git repositories; these
helpers keep that setup short. Polling has a generous guard against a hang,
never a tight deadline: a slow machine only makes a test slower.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.redis_store import RedisStore
from bot.memory_store import MemoryStore
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
SMALL = ("price-objection.yaml", "renewal.yaml", "customer-gift.yaml", "background.yaml",
         "playbook.schema.json")
"""Three playbooks and the chatter: loads in a fraction of the time the full set takes."""
HANG_GUARD = 60.0


@asynccontextmanager
async def three_instances_stores(request: pytest.FixtureRequest, backend: str
                                 ) -> AsyncIterator[list[Store]]:
    """The stores of three instances: one shared MemoryStore, or three clients of one Redis."""
    if backend == "memory":
        shared = MemoryStore()
        yield [shared, shared, shared]
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    stores = [RedisStore.from_url(url, prefix) for _ in range(3)]
    try:
        yield list(stores)
    finally:
        for store in stores:
            await store.close()


def copy_playbooks(dest: Path, names: Iterable[str] = SMALL) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(PLAYBOOKS / name, dest / name)
    return dest


def scheduled_playbooks(tmp: Path, channels: Iterable[str], at: dt.time) -> Path:
    """The shipped playbooks, with a daily prompt for each Slack channel at `at` (UTC)."""
    folder = tmp / "playbooks"
    folder.mkdir()
    for source in PLAYBOOKS.glob("*.yaml"):
        if source.name != "schedule.yaml":
            shutil.copy(source, folder / source.name)
    entries = "".join(f"  - platform: slack\n    channel: {c}\n    time: \"{at:%H:%M:%S}\"\n"
                      f"    zone: UTC\n    weekdays: daily\n" for c in channels)
    (folder / "schedule.yaml").write_text("prompts:\n" + entries)
    return folder


def retitle(path: Path, title: str) -> None:
    """Change a playbook's title, the simplest visible edit."""
    lines = path.read_text().splitlines(keepends=True)
    lines = [f"title: {title}\n" if line.startswith("title:") else line for line in lines]
    path.write_text("".join(lines))


def break_weight(path: Path) -> int:
    """Make the first trigger weight invalid; returns the (1-based) line it is on."""
    lines = path.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.strip().startswith("weight:"):
            lines[number] = line.replace("weight:", "weight: 7 #", 1)
            path.write_text("".join(lines))
            return number + 1
    raise AssertionError(f"no weight in {path}")


async def eventually(check: Callable[[], object], what: str,
                     guard: float = HANG_GUARD) -> None:
    """Poll `check` until it is truthy; the guard only stops a hang."""
    deadline = time.monotonic() + guard
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {guard:g}s for {what}")
        await asyncio.sleep(0.02)


def git(*args: str | Path, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Manager", "GIT_AUTHOR_EMAIL": "m@example.com",
           "GIT_COMMITTER_NAME": "Manager", "GIT_COMMITTER_EMAIL": "m@example.com"}
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class PlaybookRepo:
    """A bare "origin" and a manager's clone with the small set in `playbooks/`."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.origin = root / "origin.git"
        self.work = root / "work"
        self.branch = branch
        root.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", "-b", branch, self.origin, cwd=root)
        git("init", "--quiet", "-b", branch, self.work, cwd=root)
        copy_playbooks(self.folder)
        (self.work / "README.md").write_text("Our playbooks\n")
        git("remote", "add", "origin", self.origin, cwd=self.work)
        self.push("First playbooks")

    @property
    def folder(self) -> Path:
        return self.work / "playbooks"

    def push(self, message: str) -> str:
        git("add", "-A", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", self.branch, cwd=self.work)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)
