"""Three `touchpoint serve` instances on Sentinel; the Redis primary is SIGKILLed mid-run.

Real processes throughout: a primary with a replica and three sentinels
(tests/local_redis.py), three serve processes (tests/serve_process.py) and the
fake Slack API. While the daily prompt is being posted to forty channels and
twenty call nudges wait for Slack (refusing connections meanwhile), the primary
is killed once the replica holds what it acknowledged; the sentinels promote the
replica. Then: Slack's retries of an event answered before the kill are not
answered again, every channel has its prompt exactly once, and every accepted
call nudge is posted exactly once. What a kill *before* replication can lose is
in docs/deploy.md; this test pins what must survive when replication kept up.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from fakes.slack_api import FakeSlackAPI
from live_support import eventually, scheduled_playbooks
from local_redis import SentinelGroup
from serve_process import HANG_GUARD, Fleet, Instance, clean_environment, health
from slack_harness import SECRET, TOKEN, mention_event, signed_headers, texts_that_match

from bot.playbook_set import PlaybookSet
from touchpoint import call_signatures, webhooks

CHANNELS = 40
CALLS = 20
RATE = 8.0
LEAD = 6
"""Seconds from now to the prompts' time: enough for three processes to start."""
CALL_SECRET = "whsec_" + base64.b64encode(b"failover-test-secret-0123456789a").decode()
DONE = "prompts: run done"


async def until(what: str, check: Callable[[], object]) -> None:
    await eventually(check, what, HANG_GUARD)


def environment(slack_api: FakeSlackAPI, group: SentinelGroup, folder: Path) -> dict[str, str]:
    return {**clean_environment(), "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_api.url, "REDIS_SENTINELS": group.setting,
            "REDIS_SENTINEL_SERVICE": group.service, "TOUCHPOINT_REDIS_PREFIX": "tp-failover:",
            "TOUCHPOINT_PLAYBOOKS": str(folder), "TOUCHPOINT_WATCH_INTERVAL": "0",
            "TOUCHPOINT_PROMPT_RATE": str(RATE), "TOUCHPOINT_PROMPT_LEASE": "3",
            "TOUCHPOINT_CALL_WEBHOOK_SECRET": CALL_SECRET, "TOUCHPOINT_CALL_LEASE": "1",
            "TOUCHPOINT_CALL_RETRY_MAX": "0.5"}


def call_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"platform": "slack", "channel": f"C0CALL{n:04d}", "customer": "Acme",
                       "summary": "They love the new dashboard and would recommend us",
                       "owner": "U0OWNER01"}).encode()
    headers = call_signatures.webhook_headers(CALL_SECRET, body, f"msg_failover_{n}",
                                              int(time.time()))
    return body, {"Content-Type": "application/json", **headers}


async def redis_ok(http: aiohttp.ClientSession, instances: list[Instance]) -> bool:
    states = [(await health(http, instance)).get("redis") for instance in instances]
    return all(state == "ok" for state in states)


async def test_three_instances_lose_nothing_replicated_when_the_primary_is_killed(
        tmp_path: Path, sentinel_group: SentinelGroup, slack_api: FakeSlackAPI,
        library: PlaybookSet) -> None:
    prompts = [f"C0FAIL{n:04d}" for n in range(CHANNELS)]
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEAD)).replace(microsecond=0)
    folder = scheduled_playbooks(tmp_path, prompts, at.time())
    slack_api.limit(per_channel=1.0, per_workspace=RATE, workspace_burst=2)
    mention = json.dumps(mention_event(texts_that_match(library, "guide")[0][0])).encode()
    mention_channel = json.loads(mention)["event"]["channel"]
    calls = [call_delivery(n) for n in range(CALLS)]

    async with Fleet(environment(slack_api, sentinel_group, folder)) as fleet, \
            aiohttp.ClientSession() as http:
        instances = await fleet.start(*(f"instance {n}" for n in range(3)))
        async with http.post(instances[0].url + "/slack/events", data=mention,
                             headers=signed_headers(mention, "application/json")) as answer:
            assert answer.status == 200
        await until("the reply", lambda: slack_api.delivered(mention_channel))
        await until("the first prompts", lambda: len(slack_api.delivered()) > CHANNELS // 4)
        slack_api.refuse()
        for n, (body, headers) in enumerate(calls):
            async with http.post(instances[n % 3].url + webhooks.ROUTE, data=body,
                                 headers=headers) as answer:
                assert answer.status == 202, await answer.text()
        posted_before = len(slack_api.delivered())
        await asyncio.to_thread(sentinel_group.replicated)
        await asyncio.to_thread(sentinel_group.kill_primary)
        slack_api.accept()
        while not await redis_ok(http, instances):  # bounded by the reconnect interval
            await asyncio.sleep(0.05)
        for n, instance in enumerate(instances[1:], 1):
            async with http.post(instance.url + "/slack/events", data=mention,
                                 headers=signed_headers(mention, "application/json",
                                                        retry=n)) as answer:
                assert answer.status == 200
        await until("every instance to finish the run",
                    lambda: all(DONE in instance.log for instance in instances))
        await until("every call nudge", lambda: len(slack_api.delivered()) >= 1 + CHANNELS
                    + CALLS)

    delivered = [call.body["channel"] for call in slack_api.delivered()]
    assert posted_before < 1 + CHANNELS, "the primary was killed mid-run"
    assert delivered.count(mention_channel) == 1, "Slack's retries were answered again"
    assert sorted(c for c in delivered if c.startswith("C0FAIL")) == prompts
    assert sorted(c for c in delivered if c.startswith("C0CALL")) == sorted(
        f"C0CALL{n:04d}" for n in range(CALLS))
    assert len(delivered) == 1 + CHANNELS + CALLS
