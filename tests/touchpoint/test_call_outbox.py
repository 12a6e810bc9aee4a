"""At least once, never twice: call nudges through crashes, Slack outages and Redis restarts.

Real `touchpoint serve` processes, a real redis-server keeping an append-only file, and the
fake Slack API refusing connections: every accepted delivery must end up as exactly one post.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import time
from pathlib import Path

import aiohttp
import redis
from fakes.slack_api import FakeSlackAPI
from live_support import eventually
from local_redis import RedisServer
from serve_process import HANG_GUARD, Fleet, clean_environment

from touchpoint import call_signatures, webhooks

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"fault-test-secret-0123456789abcd").decode()
DELIVERIES = 50


def _env(slack_api: FakeSlackAPI, redis_url: str) -> dict[str, str]:
    return {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(ROOT / "playbooks"),
            "SLACK_BOT_TOKEN": "xoxb-1111-2222-fakefakefake", "SLACK_SIGNING_SECRET": "s" * 32,
            "SLACK_API_URL": slack_api.url, "REDIS_URL": redis_url,
            "TOUCHPOINT_CALL_WEBHOOK_SECRET": SECRET, "TOUCHPOINT_CALL_LEASE": "1",
            "TOUCHPOINT_CALL_RETRY_MAX": "0.5", "TOUCHPOINT_WATCH_INTERVAL": "0"}


def _delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"platform": "slack", "channel": f"C0FAULT{n:04d}", "customer": "Acme",
                       "summary": "They love the new dashboard and would recommend us",
                       "owner": "U0OWNER01"}).encode()
    headers = call_signatures.webhook_headers(SECRET, body, f"msg_fault_{n}", int(time.time()))
    return body, {"Content-Type": "application/json", **headers}


async def test_fifty_calls_through_a_slack_outage_a_kill_and_a_redis_restart_post_once_each(
        slack_api: FakeSlackAPI, private_redis: RedisServer) -> None:
    sent = [_delivery(n) for n in range(DELIVERIES)]
    slack_api.refuse()
    async with Fleet(_env(slack_api, private_redis.url)) as fleet, \
            aiohttp.ClientSession() as http:
        (first,) = await fleet.start("first")
        for body, headers in sent:
            async with http.post(first.url + webhooks.ROUTE, data=body,
                                 headers=headers) as response:
                assert response.status == 202, await response.text()
        await eventually(lambda: "not posted yet" in first.log, "a refused post", HANG_GUARD)
        first.proc.send_signal(signal.SIGKILL)
        await first.proc.wait()
        await asyncio.to_thread(private_redis.restart, True)
        with redis.Redis.from_url(private_redis.url) as client:
            assert client.hlen("touchpoint:outbox") == DELIVERIES
        slack_api.accept()
        (second,) = await fleet.start("second")
        await slack_api.wait_for("chat.postMessage", DELIVERIES, timeout=HANG_GUARD)
        for body, headers in sent:  # the senders' retries, after the posts
            async with http.post(second.url + webhooks.ROUTE, data=body,
                                 headers=headers) as response:
                assert (response.status, await response.json()) == (200, {"status":
                                                                          "duplicate"})

        def drained() -> bool:
            with redis.Redis.from_url(private_redis.url) as client:
                return client.hlen("touchpoint:outbox") == 0

        await eventually(drained, "an empty outbox", HANG_GUARD)
    channels = [c.body["channel"] for c in slack_api.delivered()]
    assert len(channels) == DELIVERIES
    assert sorted(channels) == sorted(f"C0FAULT{n:04d}" for n in range(DELIVERIES))
