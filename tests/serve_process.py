"""`touchpoint serve` as a child process, for the tests that run several instances.

Each instance's stderr is read as it comes, so a test can wait on what the
process logged and on the address it bound (the processes ask for port 0).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from live_support import eventually

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"serving \d+ playbooks on (http://127\.0\.0\.1:\d+)")
HANG_GUARD = 120.0
"""Seconds any single wait may take before the test fails: only there so a hang ends."""


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


async def start(env: dict[str, str], name: str = "serve") -> Instance:
    """A serving instance on a free port; fails with its log if it exits instead."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", "serve", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    instance = Instance(name, proc)
    instance.follower = asyncio.get_running_loop().create_task(_follow(instance))
    await eventually(lambda: instance.url or proc.returncode is not None, f"{name} to serve",
                     HANG_GUARD)
    assert instance.url, instance.log
    return instance
