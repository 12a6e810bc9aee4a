"""`touchpoint serve` as a process: SIGHUP reloads, a bad edit is refused, `/metrics` counts."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession
from live_support import HANG_GUARD, ROOT, break_weight, copy_playbooks

PREFIXES = ("Microsoft", "TOUCHPOINT_", "SLACK_", "REDIS_")
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
                    r" -?([0-9.e+-]+|\+Inf|-Inf|NaN)$")


@dataclass
class Process:
    url: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def wait_for_log(self, pattern: str) -> str:
        """Read the log until a line matches; the guard only stops a hang."""
        async with asyncio.timeout(HANG_GUARD):
            while True:
                found = next((line for line in self.lines if re.search(pattern, line)), None)
                if found is not None:
                    return found
                assert self.process.stderr is not None
                line = (await self.process.stderr.readline()).decode()
                assert line, "serve exited:\n" + "".join(self.lines)
                self.lines.append(line)


@asynccontextmanager
async def serving(extra_env: dict[str, str]) -> AsyncIterator[Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(extra_env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", "serve", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    running = Process("", process)
    try:
        line = await running.wait_for_log(r"on http://127\.0\.0\.1:(\d+)")
        port = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
        assert port is not None
        running.url = f"http://127.0.0.1:{port.group(1)}"
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(HANG_GUARD):
            await process.communicate()
    assert process.returncode == 0


async def count(session: ClientSession, url: str) -> int:
    async with session.get(f"{url}/healthz") as response:
        body = await response.json()
        return int(body["playbooks"])


async def test_sighup_reloads_and_a_bad_edit_is_refused(tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    env = {"TOUCHPOINT_PLAYBOOKS": str(folder), "TOUCHPOINT_WATCH_INTERVAL": "0"}
    async with serving(env) as tp, ClientSession() as session:
        assert await count(session, tp.url) == 3
        (folder / "customer-gift.yaml").unlink()
        tp.process.send_signal(signal.SIGHUP)
        await tp.wait_for_log(r"playbooks reloaded after SIGHUP: 2 playbooks")
        assert await count(session, tp.url) == 2
        line = break_weight(folder / "renewal.yaml")
        tp.process.send_signal(signal.SIGHUP)
        await tp.wait_for_log(r"playbooks rejected after SIGHUP")
        await tp.wait_for_log(rf"renewal\.yaml:{line}:\d+: triggers\[\d+\]\.weight")
        assert await count(session, tp.url) == 2
        async with session.get(f"{tp.url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(SAMPLE.match(line) for line in samples), \
        [line for line in samples if not SAMPLE.match(line)]
    assert 'touchpoint_playbook_reloads_total{result="ok"} 1' in samples
    assert 'touchpoint_playbook_reloads_total{result="rejected"} 1' in samples
    assert 'touchpoint_http_requests_total{method="GET",route="/healthz",status="200"} 3' \
        in samples
    assert "touchpoint_playbooks 2" in samples
