"""`touchpoint serve` as a process: starts without Teams settings, and serves Teams in dev mode."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import ClientSession
from fakes.teams_connector import FakeTeamsConnector

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "teams"
HANG_GUARD = 60.0
PREFIXES = ("Microsoft", "TOUCHPOINT_", "SLACK_", "REDIS_")


@asynccontextmanager
async def serving(extra_env: dict[str, str]) -> AsyncIterator[tuple[str, list[str]]]:
    """Run `touchpoint serve --port 0`; yield its URL and the log lines read so far."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(extra_env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", "serve", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(HANG_GUARD):
            while True:
                line = (await process.stderr.readline()).decode()
                assert line, "serve exited:\n" + "".join(lines)
                lines.append(line)
                found = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
                if found:
                    break
        yield f"http://127.0.0.1:{found.group(1)}", lines
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(HANG_GUARD):
            await process.communicate()
    assert process.returncode == 0


async def test_serve_starts_without_teams_settings() -> None:
    async with serving({}) as (url, lines), ClientSession() as session:
        async with session.get(f"{url}/healthz") as response:
            assert response.status == 200
        async with session.post(f"{url}/api/messages", json={}) as response:
            assert response.status in (404, 405)
    assert any("Teams is off" in line for line in lines)


async def test_serve_in_teams_dev_mode_answers(teams_connector: FakeTeamsConnector) -> None:
    raw = json.loads((FIXTURES / "personal_message.json").read_text())
    raw.update(serviceUrl=teams_connector.service_url, text="help")
    async with serving({"TOUCHPOINT_TEAMS_DEV": "1"}) as (url, lines), \
            ClientSession() as session:
        async with session.post(f"{url}/api/messages", json=raw) as response:
            assert response.status == 200
        [post] = await teams_connector.wait_for(1)
    assert "@Touchpoint list" in post.card_text
    assert any("UNAUTHENTICATED" in line for line in lines)
