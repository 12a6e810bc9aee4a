"""`touchpoint serve` as the Procfile runs it: a real process, configured by its environment."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from fakes.slack_api import FakeSlackAPI
from serve_process import clean_environment, serving

ROOT = Path(__file__).resolve().parents[2]
SECRET = "8f742231b10e8888abcd99edabcd00d0"
TOKEN = "xoxb-1111-2222-fakefakefake"


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without any platform or store setting, plus `extra`."""
    return {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(ROOT / "playbooks"), **extra}


async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", "serve", "--port", "0", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_without_slack_settings_it_serves_healthz_and_says_slack_is_off() -> None:
    async with serving(clean_env()) as server, aiohttp.ClientSession() as http:
        async with http.get(server.url + "/healthz") as resp:
            health = await resp.json()
        async with http.post(server.url + "/slack/events", data=b"{}") as resp:
            events_status = resp.status
    assert health["status"] == "ok" and "slack" not in health
    assert events_status == 404
    assert "slack: off" in server.log
    assert server.proc.returncode == 0


async def test_with_slack_settings_a_signed_command_is_answered(slack_api: FakeSlackAPI) -> None:
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=slack_api.url)
    body = urlencode({"command": "/touchpoint", "text": "help", "user_id": "U0FAKEUSER",
                      "channel_id": "C0FAKECHAN", "trigger_id": "1.2.serve"}).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}
    async with serving(env) as server, aiohttp.ClientSession() as http:
        async with http.post(server.url + "/slack/events", data=body, headers=headers) as resp:
            status = resp.status
        call = (await slack_api.wait_for("chat.postEphemeral"))[0]
        await slack_api.wait_for("auth.test")
        async with http.get(server.url + "/healthz") as resp:
            health = await resp.json()
    assert status == 200
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert health["slack"] == "ok"
    assert "slack: on (Events API on POST /slack/events)" in server.log
    assert server.proc.returncode == 0


async def test_socket_mode_flag_needs_an_app_token() -> None:
    code, err = await run(clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET),
                          "--socket-mode")
    assert code == 2
    assert "--socket-mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in err


async def test_an_impossible_slack_setup_stops_the_start_with_the_reason() -> None:
    code, err = await run(clean_env(SLACK_BOT_TOKEN=TOKEN))
    assert code == 2
    assert "SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN" in err
    assert TOKEN not in err


async def test_socket_mode_flag_connects_without_an_events_route(slack_api: FakeSlackAPI) -> None:
    app_token = "xapp-1-A0FAKEAPP-3333-fakefakefake"
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=app_token, SLACK_API_URL=slack_api.url)
    async with serving(env, "serve", "--socket-mode") as server, aiohttp.ClientSession() as http:
        await slack_api.wait_socket(timeout=30)
        async with http.post(server.url + "/slack/events", data=b"{}") as resp:
            events_status = resp.status
        deadline = time.monotonic() + 30  # the client marks itself connected just after Slack
        while True:
            async with http.get(server.url + "/healthz") as resp:
                health = await resp.json()
            if health["slack"] == "ok" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    opened = slack_api.calls("apps.connections.open")
    assert opened and opened[0].headers["Authorization"] == f"Bearer {app_token}"
    assert events_status == 404
    assert health["slack"] == "ok"
    assert "slack: on (Socket Mode)" in server.log
    assert server.proc.returncode == 0
