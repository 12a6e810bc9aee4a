"""`touchpoint serve` as a process: starts without Teams settings, and serves Teams in dev mode."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import ClientSession
from fakes.teams_connector import FakeTeamsConnector
from serve_process import clean_environment, serving

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "teams"


async def test_serve_starts_without_teams_settings() -> None:
    async with serving(clean_environment()) as tp, ClientSession() as session:
        async with session.get(f"{tp.url}/healthz") as response:
            assert response.status == 200
        async with session.post(f"{tp.url}/api/messages", json={}) as response:
            assert response.status in (404, 405)
    assert any("Teams is off" in line for line in tp.lines)


async def test_serve_in_teams_dev_mode_answers(teams_connector: FakeTeamsConnector) -> None:
    raw = json.loads((FIXTURES / "personal_message.json").read_text())
    raw.update(serviceUrl=teams_connector.service_url, text="help")
    async with serving({**clean_environment(), "TOUCHPOINT_TEAMS_DEV": "1"}) as tp, \
            ClientSession() as session:
        async with session.post(f"{tp.url}/api/messages", json=raw) as response:
            assert response.status == 200
        [post] = await teams_connector.wait_for(1)
    assert "@Touchpoint list" in post.card_text
    assert any("UNAUTHENTICATED" in line for line in tp.lines)
