"""`touchpoint serve` (or `preview`) as a child process, for every test that runs one.

Each instance's stderr is read as it comes, so a test can wait on what the
process logged and on the address it bound (the processes ask for port 0).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from live_support import eventually

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r" \d+ playbooks on (http://127\.0\.0\.1:\d+)")
"""`serving 14 playbooks on ...` (or `preview of 3 playbooks on ...`): the bound address."""
HANG_GUARD = 120.0
"""Seconds any single wait may take before the test fails: only there so a hang ends."""
STOP_GRACE = 15.0
"""Seconds a leftover instance gets to stop after SIGTERM before it is killed."""
PROBLEM = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) |^Traceback ")
"""A log line that reports a failure: the log format's level, or an uncaught exception."""


@dataclass
class Instance:
    name: str
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    url: str = ""
    follower: asyncio.Task[None] | None = None

    @property
    def log(self) -> str:
        return "".join(self.lines)


def clean_environment() -> dict[str, str]:
    """This process's environment without any Touchpoint, Slack, Teams or Redis setting."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_")) and k != "PORT"}


async def _follow(instance: Instance) -> None:
    assert instance.proc.stderr is not None
    async for raw in instance.proc.stderr:
        line = raw.decode(errors="replace")
        instance.lines.append(line)
        found = SERVING.search(line)
        if found:
            instance.url = found.group(1)


async def start(env: dict[str, str], name: str = "serve",
                started: list[Instance] | None = None, args: Sequence[str] = ("serve",)
                ) -> Instance:
    """A serving instance on a free port; fails with its log if it exits instead.

    The instance is added to `started` as soon as its process exists, so whoever owns that
    list can stop it even when it never came to serve.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", *args, "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    instance = Instance(name, proc)
    if started is not None:
        started.append(instance)
    instance.follower = asyncio.get_running_loop().create_task(_follow(instance))
    await eventually(lambda: instance.url or proc.returncode is not None, f"{name} to serve",
                     HANG_GUARD)
    assert instance.url, instance.log
    return instance


class Fleet:
    """The serve processes one test started: whatever happens in the test, none outlives it
    (SIGTERM on the way out, SIGKILL if that is not enough).

    A test that fails half-way would otherwise leave its children serving (and holding
    their ports and Redis connections) for the rest of the session.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.instances: list[Instance] = []

    async def start(self, *names: str, args: Sequence[str] = ("serve",)) -> list[Instance]:
        return list(await asyncio.gather(*(start(self.env, name, self.instances, args)
                                           for name in names)))

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        for instance in self.instances:
            if instance.proc.returncode is None:
                instance.proc.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                await asyncio.wait_for(instance.proc.wait(), STOP_GRACE)
            except TimeoutError:
                instance.proc.send_signal(signal.SIGKILL)
                await instance.proc.wait()
            if instance.follower is not None:
                await instance.follower


def rss(instance: Instance, peak: bool = False) -> int:
    """Resident memory of the serve process in bytes, from /proc/<pid>/status: now (VmRSS),
    or with `peak` the most it has held since it started (VmHWM)."""
    field = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{instance.proc.pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {instance.name}")


async def health(http: aiohttp.ClientSession, instance: Instance) -> dict[str, Any]:
    async with http.get(instance.url + "/healthz") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


def unexpected_problems(instance: Instance, caused: Iterable[str]) -> list[str]:
    """The ERROR, CRITICAL and Traceback lines of the log that none of `caused` explains.

    `caused` holds regular expressions for what the test itself provoked (a Redis restart,
    a Slack API answering 500, a broken playbook), each searched in the line.
    """
    allowed = [re.compile(pattern) for pattern in caused]
    return [line.rstrip() for line in instance.lines
            if PROBLEM.search(line) and not any(a.search(line) for a in allowed)]


def percentile(values: Iterable[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), round(share * len(ordered))) - 1)]


@asynccontextmanager
async def serving(env: dict[str, str], *args: str) -> AsyncIterator[Instance]:
    """One instance of `touchpoint serve ARGS` (or another command in `args`), stopped with
    SIGTERM on the way out, which it must survive with exit status 0."""
    async with Fleet(env) as fleet:
        (instance,) = await fleet.start("serve", args=args or ("serve",))
        yield instance
    assert instance.proc.returncode == 0, instance.log


async def wait_for_log(instance: Instance, pattern: str) -> str:
    """The first log line that matches, once the instance has logged it."""
    found = re.compile(pattern)

    def line() -> str | None:
        return next((x for x in instance.lines if found.search(x)), None)

    await eventually(lambda: line() is not None or instance.proc.returncode is not None,
                     f"a log line like {pattern!r}", HANG_GUARD)
    matched = line()
    assert matched is not None, f"{instance.name} exited:\n{instance.log}"
    return matched
