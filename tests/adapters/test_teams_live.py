"""Live playbooks through Teams: a rejected edit goes to the admin channel, admins reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from fakes.teams_connector import FakeTeamsConnector
from live_support import break_weight, copy_playbooks, retitle

from adapters.teams import app as teams
from bot.memory_store import MemoryStore
from touchpoint import live
from touchpoint.metrics import Metrics
from touchpoint.server import admin_poster, build_app, make_handler, outbounds_of
from touchpoint.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
USER_AAD = "00000000-1111-2222-3333-444444444444"
FAST = teams.RetryPolicy(attempts=3, base_delay=0.01, max_delay=1.0)


def activity(connector: FakeTeamsConnector, name: str, **changes: Any) -> bytes:
    raw: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    raw["serviceUrl"] = connector.service_url
    raw.update(changes)
    return json.dumps(raw).encode()


async def test_admin_channel_on_teams_and_reload_by_a_teams_admin(
        tmp_path: Path, teams_connector: FakeTeamsConnector) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    settings = Settings(teams_dev=True, playbooks=folder, watch_interval=0.05,
                        admins=(f"teams:{USER_AAD}",), admin_channel=f"teams:{CHANNEL}")
    store = MemoryStore()
    handler = make_handler(settings, store)
    app = build_app(settings, handler)
    bot = teams.attach(app, handler, settings.teams, FAST)
    assert bot is not None
    outbounds = outbounds_of(app, [bot], store)
    live.attach(app, handler, settings, store, Metrics(), admin_poster(settings, outbounds),
                handle_sighup=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
    headers = {"Content-Type": "application/json"}
    try:
        async with ClientSession() as http:
            added = activity(teams_connector, "conversation_update_bot_added.json")
            async with http.post(url, data=added, headers=headers) as response:
                assert response.status == 200
            await teams_connector.wait_for(1)  # the welcome; the reference is saved
            line = break_weight(folder / "renewal.yaml")
            report = (await teams_connector.wait_for(2))[1]
            assert report.conversation == CHANNEL
            assert f"renewal.yaml:{line}:" in report.text + report.card_text
            # Fixed, and one more edit: whether the watcher or the admin gets there first,
            # the admin's reload answers with what is live.
            (folder / "renewal.yaml").write_text(
                (folder / "renewal.yaml").read_text().replace("weight: 7 #", "weight:"))
            retitle(folder / "customer-gift.yaml", "Gifts from Teams")
            ask = activity(teams_connector, "personal_message.json", text="reload",
                           id="reload-1")
            async with http.post(url, data=ask, headers=headers) as response:
                assert response.status == 200
            answer = (await teams_connector.wait_for(3))[2]
            assert "playbooks live" in answer.text + answer.card_text
            assert handler.playbooks.by_id["customer-gift"].title == "Gifts from Teams"
    finally:
        await runner.cleanup()

