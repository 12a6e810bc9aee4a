"""`touchpoint preview` serves only the manager page; `touchpoint serve` serves it next to the
bot's routes, behind the token when one is set."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientSession
from live_support import copy_playbooks
from web_support import cli_server

TOKEN = "serve-token-0123456789abcdef"


async def test_preview_serves_only_the_page_on_the_embedded_defaults(tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    args = ["--playbooks", str(folder), "preview"]
    async with cli_server(args, {}, r"preview of 3 playbooks on http://127\.0\.0\.1:(\d+)") \
            as (url, _), ClientSession() as http:
        async with http.get(f"{url}/", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/manage/"
        async with http.get(f"{url}/manage/", params={"text": "they said it's too expensive"}) \
                as response:
            assert response.status == 200
            assert 'data-playbook="price-objection"' in await response.text()
        async with http.get(f"{url}/manage/playbooks") as response:
            assert "preview: in-memory store, no Slack or Teams" in await response.text()
        for route in ("/healthz", "/slack/events", "/api/messages"):
            async with http.get(f"{url}{route}") as response:
                assert response.status in (404, 405), route


async def test_serve_without_a_token_serves_the_page_to_nobody(tmp_path: Path) -> None:
    """Behind a proxy on the same host every visitor is a loopback peer naming `localhost`."""
    folder = copy_playbooks(tmp_path / "playbooks")
    env = {"TOUCHPOINT_PLAYBOOKS": str(folder), "TOUCHPOINT_WATCH_INTERVAL": "0"}
    async with cli_server(["serve"], env, r"serving 3 playbooks on http://127\.0\.0\.1:(\d+)") \
            as (url, lines), ClientSession() as http:
        assert any("manager pages on /manage/: off (set TOUCHPOINT_ADMIN_TOKEN" in line
                   for line in lines)
        for path in ("/manage/", "/manage/analytics", "/manage/playbooks"):
            async with http.get(f"{url}{path}", headers={"Host": "localhost"}) as response:
                assert response.status == 403, path
                assert "TOUCHPOINT_ADMIN_TOKEN" in await response.text()
        async with http.get(f"{url}/healthz") as response:
            assert response.status == 200


async def test_serve_puts_the_page_behind_the_token(tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    (folder / "schedule.yaml").write_text(
        "prompts:\n  - {platform: slack, channel: C0123SALES, time: '09:00', zone: UTC}\n")
    env = {"TOUCHPOINT_PLAYBOOKS": str(folder), "TOUCHPOINT_WATCH_INTERVAL": "0",
           "TOUCHPOINT_ADMIN_TOKEN": TOKEN}
    async with cli_server(["serve"], env, r"serving 3 playbooks on http://127\.0\.0\.1:(\d+)") \
            as (url, lines), ClientSession() as http:
        assert any("manager pages on /manage/ for holders of TOUCHPOINT_ADMIN_TOKEN" in line
                   for line in lines)
        async with http.get(f"{url}/manage/playbooks") as response:
            assert response.status == 401 and 'name="token"' in await response.text()
        async with http.get(f"{url}/manage/playbooks",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
            page = await response.text()
            assert "3 playbooks live" in page and "Reload now" in page
        async with http.get(f"{url}/manage/schedule",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            page = await response.text()
            assert "slack:C0123SALES" in page and "slack is off on this server" in page
        async with http.get(f"{url}/healthz") as response:
            assert response.status == 200  # the bot's own routes never see the guard
