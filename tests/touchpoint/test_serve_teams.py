"""`touchpoint serve` as a process: starts without Teams settings, serves Teams in dev mode,
and goes on serving everything while Microsoft's signing-key endpoint hangs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import ClientSession
from fakes.bot_framework_keys import FakeBotFrameworkKeys
from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from live_support import eventually
from serve_process import clean_environment, serving

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "teams"
APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SECRET = "8f742231b10e8888abcd99edabcd00d0"
TOKEN = "xoxb-1111-2222-fakefakefake"


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


def jwt_shaped(kid: str) -> str:
    """A bearer that parses as an RS256 JWT with key id `kid`, signed by no one."""
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": 4_000_000_000}
    return f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': kid})}.{part(claims)}.c2ln"


def signed_command(text: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"command": "/touchpoint", "text": text, "user_id": "U0FAKEUSER",
                      "channel_id": "C0FAKECHAN", "trigger_id": f"1.2.{text}"}).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return body, {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}


async def test_a_hanging_key_endpoint_blocks_nothing(
        slack_api: FakeSlackAPI, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys) -> None:
    """Microsoft's signing-key endpoint hangs (here: never answers until the test ends) while
    forged Teams requests with JWT-shaped bearers arrive: /healthz and Slack acks go on
    answering, the forged requests are refused, and the keys are not fetched per request."""
    keys = bot_framework_keys
    keys.hang()
    env = {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(ROOT / "playbooks"),
           "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack_api.url, "MicrosoftAppId": APP_ID,
           "MicrosoftAppPassword": "secret", "MicrosoftAppTenantId": TENANT,
           "TOUCHPOINT_TEAMS_OPENID_URL": keys.openid_url,
           "TOUCHPOINT_TEAMS_SERVICE_URLS": r"^http://127\.0\.0\.1:\d+/"}
    raw = json.loads((FIXTURES / "personal_message.json").read_text())
    raw.update(serviceUrl=teams_connector.service_url, text="help")
    async with serving(env) as tp, ClientSession() as session:
        await eventually(lambda: keys.hanging, "the server to ask for the keys")

        async def forged(n: int) -> int:
            headers = {"Authorization": f"Bearer {jwt_shaped(f'forged-{n}')}"}
            async with session.post(f"{tp.url}/api/messages", json=raw,
                                    headers=headers) as response:
                return response.status

        attempts = [asyncio.ensure_future(forged(n)) for n in range(20)]
        async with session.get(f"{tp.url}/healthz") as response:
            assert response.status == 200
        body, headers = signed_command("help")
        async with session.post(f"{tp.url}/slack/events", data=body,
                                headers=headers) as response:
            assert response.status == 200
        assert keys.hanging, "the key endpoint was still holding the server's request"
        await slack_api.wait_for("chat.postEphemeral")
        assert await asyncio.gather(*attempts) == [401] * len(attempts)
        assert len(keys.requests) < len(attempts)
    assert teams_connector.requests == []
