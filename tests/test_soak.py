"""Soak and faults: two `touchpoint serve` processes, one real Redis, the fake Slack API
and the fake Teams connector.

Concurrent clients send a mixed stream of signed slash commands, channel messages that
call for a nudge, mentions, signed call-ended webhooks and Teams activities (personal
messages and channel mentions, some delivered again to the other instance, as Teams
retries), first a fixed number as a warm-up, then for `--soak-seconds` (a few seconds
in CI). During the load an invalid playbook edit is made in the folder both instances
watch, then a valid one; Redis is restarted, the fake Slack API answers 429 and then 500
for a while, and one instance is killed with SIGKILL; at the end the other is stopped
with SIGTERM and must finish what it acknowledged and exit 0. Every request has its own
key in the answer (the asker, the thread, the channel or the Teams activity id), so the
fakes' records show each answer's count: never two, and exactly one for everything the
surviving instance acknowledged and every Teams activity either instance answered 200.
The surviving instance's resident memory after the load must be close to what it was
after the warm-up. Waits have a hang guard only; no assertion is on a clock except the
acknowledgement latency, asserted against Slack's 3 seconds. No line in either
instance's log may be an ERROR or a traceback the test did not cause.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import shutil
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from live_support import eventually
from local_redis import RedisServer
from serve_process import (
    HANG_GUARD,
    Fleet,
    Instance,
    health,
    percentile,
    rss,
    unexpected_problems,
)
from soak_support import HOOK_SECRET, SIGNING, answers_by_key, environment

sys.path.insert(0, str(Path(__file__).resolve().parent / "adapters"))

from slack_harness import (  # noqa: E402
    FORM,
    command_body,
    mention_event,
    message_event,
    signed_headers,
    texts_that_match,
)

from bot.playbook_set import PlaybookSet  # noqa: E402
from touchpoint import call_signatures, webhooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
WARM_UP = 40
"""Requests each client sends before the timed load, and before memory is first read."""
TEAMS_FIXTURES = ROOT / "tests" / "fixtures" / "teams"
TEAMS_KINDS = ("teams-personal", "teams-channel")
AGAIN = 0.3
"""The share of answered Teams activities delivered once more, to the other instance."""
NEW_PLAYBOOK = "soak-zeppelin.yaml"
NEW_TITLE = "Zeppelin hangar visits"
NEW_TEXT = "a customer wants a tour of the zeppelin hangar on friday"
BROKEN_PLAYBOOK = "id: soak-zeppelin\ntitle: [never closed\n"
VALID_PLAYBOOK = f"""\
id: soak-zeppelin
title: {NEW_TITLE}
summary: A customer visiting our zeppelin hangar; a playbook added during the soak test.
triggers:
  - phrase: zeppelin hangar
    weight: 0.95
guidance:
  - Walk the customer through the zeppelin hangar yourself.
nudge: "A customer at the zeppelin hangar? Walk them through it yourself."
prompts:
  - "Which customer would enjoy a zeppelin hangar visit?"
examples:
  match:
    - "a customer is coming to see the zeppelin hangar tomorrow"
"""
MIB = 1024 * 1024
CAUSED = [r"ERROR touchpoint\.reload: playbooks rejected after a change in \S+/playbooks "
          r"\(1 errors\)"]
"""The one error the faults below should log: the broken playbook, refused. A Redis restart,
429s and 500s are retried and logged as warnings; anything else at ERROR fails the test."""

pytestmark = pytest.mark.soak


@dataclass
class Sent:
    kind: str
    key: tuple[str, str]
    instance: str
    status: int
    latency: float
    killed_before_answer: bool = False
    redis_steady: bool = True
    """Redis answered throughout: while it restarts, a channel's nudge switch and the
    sender's mutes cannot be read, and an unread mute counts as a mute, so no nudge."""


async def _until(what: str, check: Callable[[], object]) -> None:
    await eventually(check, what, HANG_GUARD)


class Load:
    """The clients: each request names its own answer, so answers can be counted per key."""

    def __init__(self, instances: list[Instance], nudges: list[str], guides: list[str],
                 service_url: str) -> None:
        self.alive = list(instances)
        self.nudges, self.guides = nudges, guides
        self.service_url = service_url
        self.sent: list[Sent] = []
        self.numbers = iter(range(1, 10_000_000))
        self.killed: set[str] = set()
        self.teams = {kind: json.loads((TEAMS_FIXTURES / name).read_text()) for kind, name in
                      zip(TEAMS_KINDS, ("personal_message.json", "message.json"), strict=True)}
        # A delivery again to the other instance is only deduplicated through Redis; while
        # Redis restarts each instance deduplicates in its own memory (see RedisStore), so
        # no second delivery is sent from just before the restart until both see it again.
        self.redis_steady = True
        self.redis_epoch = 0
        self.again_in_flight = 0

    async def client(self, http: aiohttp.ClientSession, seed: int, until: float,
                     limit: int | None = None) -> None:
        rng = random.Random(seed)
        done = 0
        while time.monotonic() < until and (limit is None or done < limit):
            done += 1
            instance = rng.choice(self.alive)
            n = next(self.numbers)
            kind = rng.choice(["command", "channel", "mention", "call", *TEAMS_KINDS])
            body, headers, path, key = self._request(kind, n, rng)
            epoch = self.redis_epoch
            status = await self._post(http, instance, kind, body, headers, path, key)
            others = [i for i in self.alive if i is not instance]
            if (kind in TEAMS_KINDS and status == 200 and others and self.redis_steady
                    and epoch == self.redis_epoch and rng.random() < AGAIN):
                self.again_in_flight += 1
                try:
                    await self._post(http, rng.choice(others), kind + "-again", body, headers,
                                     path, key)
                finally:
                    self.again_in_flight -= 1

    async def _post(self, http: aiohttp.ClientSession, instance: Instance, kind: str,
                    body: bytes, headers: dict[str, str], path: str, key: tuple[str, str]
                    ) -> int:
        started = time.perf_counter()
        steady = self.redis_steady
        try:
            async with http.post(instance.url + path, data=body, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except aiohttp.ClientError:
            status = 0  # the instance was killed while this was in flight
        self.sent.append(Sent(kind, key, instance.name, status, time.perf_counter() - started,
                              redis_steady=steady and self.redis_steady))
        return status

    def _request(self, kind: str, n: int, rng: random.Random
                 ) -> tuple[bytes, dict[str, str], str, tuple[str, str]]:
        if kind in TEAMS_KINDS:
            activity_id = f"soak-{n:07d}"
            raw = copy.deepcopy(self.teams[kind])
            text = rng.choice(self.guides)
            raw.update(id=activity_id, serviceUrl=self.service_url,
                       text=text if kind == "teams-personal" else f"<at>FakeBot</at> {text}")
            raw.pop("attachments", None)  # the HTML copy of the fixture's own text
            return json.dumps(raw).encode(), {"Content-Type": "application/json"}, \
                "/api/messages", ("teams", activity_id)
        if kind == "command":
            user = f"U0SOAK{n:07d}"
            body = command_body("help", user=user, channel="C0SOAKCMD")
            return body, signed_headers(body, FORM, secret=SIGNING), "/slack/events", \
                ("ephemeral", user)
        if kind == "call":
            channel = f"C0CALL{n:07d}"
            payload = {"platform": "slack", "channel": channel, "customer": "Acme",
                       "summary": rng.choice(self.nudges), "owner": "U0OWNER01"}
            body = json.dumps(payload).encode()
            signed = call_signatures.webhook_headers(HOOK_SECRET, body, f"msg_soak_{n}",
                                                     int(time.time()))
            return body, {"Content-Type": "application/json", **signed}, webhooks.ROUTE, \
                ("post", channel)
        ts = f"{1_700_000_000 + n}.000100"
        if kind == "channel":
            channel = f"C0CHAN{n:07d}"  # own channel: no cooldown between two requests
            event = message_event(rng.choice(self.nudges), channel=channel, ts=ts)
            key = ("thread", f"{channel}/{ts}")
        else:
            event = mention_event(rng.choice(self.guides))
            event["event"]["ts"] = ts
            key = ("thread", f"{event['event']['channel']}/{ts}")
        body = json.dumps(event).encode()
        return body, signed_headers(body, "application/json", secret=SIGNING), \
            "/slack/events", key


async def _until_redis_back(http: aiohttp.ClientSession, load: Load) -> None:
    """Wait until every live instance's /healthz says Redis is ok again."""
    for instance in list(load.alive):
        while True:
            try:
                if (await health(http, instance)).get("redis") == "ok":
                    break
            except aiohttp.ClientError:
                if instance not in load.alive:
                    break
            await asyncio.sleep(0.05)


def _logged(instance: Instance, text: str) -> Callable[[], bool]:
    """A check: `text` is in the instance's log, or the instance is gone (killed)."""
    return lambda: text in instance.log or instance.proc.returncode is not None


async def _edit_playbooks(http: aiohttp.ClientSession, load: Load, folder: Path,
                          shipped: int) -> None:
    """An invalid edit, then a valid one, in the folder both instances watch."""
    (folder / NEW_PLAYBOOK).write_text(BROKEN_PLAYBOOK)
    for instance in list(load.alive):
        await _until(f"{instance.name} to reject the broken playbook",
                     _logged(instance, "playbooks rejected"))
        try:
            if instance in load.alive:
                assert (await health(http, instance))["playbooks"] == shipped  # last good set
        except aiohttp.ClientError:
            if instance in load.alive:  # only the kill may cut this check short
                raise
    (folder / NEW_PLAYBOOK).write_text(VALID_PLAYBOOK)
    for instance in list(load.alive):
        await _until(f"{instance.name} to load the fixed playbook",
                     _logged(instance, "playbooks reloaded"))


async def _new_playbook_answers(http: aiohttp.ClientSession, instance: Instance,
                                slack_api: FakeSlackAPI, connector: FakeTeamsConnector,
                                load: Load) -> None:
    """A mention on Slack and a personal message on Teams only the new playbook answers."""
    event = mention_event(NEW_TEXT)
    event["event"]["ts"] = ts = "1699999999.000100"
    body = json.dumps(event).encode()
    async with http.post(instance.url + "/slack/events", data=body, headers=signed_headers(
            body, "application/json", secret=SIGNING)) as resp:
        assert resp.status == 200
    thread = (event["event"]["channel"], ts)

    def slack_answered() -> bool:
        return any(c.ok and c.method == "chat.postMessage"
                   and (c.body.get("channel"), c.body.get("thread_ts")) == thread
                   and NEW_TITLE in json.dumps(c.body) for c in slack_api.calls())

    await _until("Slack's answer from the new playbook", slack_answered)
    raw = copy.deepcopy(load.teams["teams-personal"])
    raw.update(id="new-playbook-1", serviceUrl=load.service_url, text=NEW_TEXT)
    async with http.post(instance.url + "/api/messages", json=raw) as resp:
        assert resp.status == 200
    [post] = [r for r in connector.posted if r.reply_to == "new-playbook-1"]
    assert NEW_TITLE in post.card_text + post.text, post.body


async def test_two_instances_under_load_through_redis_restart_slack_errors_kill_and_term(
        private_redis: RedisServer, slack_api: FakeSlackAPI,
        teams_connector: FakeTeamsConnector, library: PlaybookSet, soak_seconds: float,
        tmp_path: Path) -> None:
    nudges = [t for t, _ in texts_that_match(library, "nudge")]
    guides = [t for t, _ in texts_that_match(library, "guide")]
    folder = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", folder)
    shipped = len(library.playbooks)
    env = environment(slack_api, private_redis, folder, "tp-soak:")
    # A call the killed instance had claimed waits out this lease, then the other posts it.
    env.update(TOUCHPOINT_CALL_LEASE="5", TOUCHPOINT_CALL_RETRY_MAX="1")
    async with Fleet(env) as fleet, aiohttp.ClientSession() as http:
        first, second = await fleet.start("first", "second")
        await slack_api.wait_for("auth.test", 2)
        load = Load([first, second], nudges, guides, teams_connector.service_url)
        warm_until = time.monotonic() + HANG_GUARD
        await asyncio.gather(*(load.client(http, 1000 + seed, warm_until, WARM_UP)
                               for seed in range(CLIENTS)))
        warm_rss = rss(second)
        until = time.monotonic() + soak_seconds
        clients = [asyncio.create_task(load.client(http, seed, until)) for seed in range(CLIENTS)]

        step = soak_seconds / 5

        async def edits() -> None:
            await asyncio.sleep(step / 2)
            await _edit_playbooks(http, load, folder, shipped)

        async def slack_errors() -> None:
            await asyncio.sleep(step)
            slack_api.ratelimit("chat.postMessage", retry_after="1", times=5)
            slack_api.ratelimit("chat.postEphemeral", retry_after="1", times=5)
            slack_api.server_error("chat.postMessage", times=5)
            slack_api.server_error("chat.postEphemeral", times=5)

        async def redis_restart() -> None:
            await asyncio.sleep(2 * step)
            load.redis_steady = False
            load.redis_epoch += 1
            await _until("second deliveries to finish", lambda: load.again_in_flight == 0)
            await asyncio.to_thread(private_redis.restart)  # Redis restarted under load
            await _until_redis_back(http, load)
            load.redis_epoch += 1
            load.redis_steady = True

        async def kill() -> None:
            await asyncio.sleep(3 * step)
            load.alive.remove(first)  # clients stop choosing it, then it dies
            first.proc.send_signal(signal.SIGKILL)
            load.killed.add(first.name)

        await asyncio.gather(edits(), slack_errors(), redis_restart(), kill(), *clients)
        await first.proc.wait()
        accepted_calls = [s.key for s in load.sent if s.kind == "call" and s.status == 202]
        await _until("every accepted call to be posted", lambda: all(
            answers_by_key(slack_api, teams_connector)[key] for key in accepted_calls))
        after_load = await health(http, second)
        await _new_playbook_answers(http, second, slack_api, teams_connector, load)
        settled_rss = rss(second)
        second.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(second.proc.wait(), HANG_GUARD)

    answers = answers_by_key(slack_api, teams_connector)
    latencies = sorted(s.latency for s in load.sent if s.status in (200, 202))
    slack_acks = [s.latency for s in load.sent
                  if s.status == 200 and s.kind in ("command", "channel", "mention")]
    by_kind = Counter(s.kind for s in load.sent)
    median = statistics.median(latencies) * 1000
    report = (f"soak {soak_seconds:g}s: {len(load.sent)} requests {dict(by_kind)}, "
              f"{sum(answers.values())} answers; ack median {median:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms; second's RSS {warm_rss / MIB:.1f} MiB "
              f"after warm-up, {settled_rss / MIB:.1f} MiB after the load")
    print(report)

    assert code == 0, second.log[-3000:]
    for instance in (first, second):
        assert unexpected_problems(instance, CAUSED) == [], instance.log[-5000:]
    assert after_load["playbooks"] == shipped + 1, after_load
    duplicates = {k: n for k, n in answers.items() if n > 1}
    assert duplicates == {}
    for sent in load.sent:
        assert sent.status in (200, 202) or (sent.status == 0 and sent.instance == "first") \
            or (sent.status == 503 and sent.kind == "call"), sent  # 503: Redis was down
    # Everything the SIGTERMed instance acknowledged was answered before it exited; what the
    # SIGKILLed one acknowledged may have died with it (Slack does not retry an acknowledged
    # request), but never twice.
    kept = [s for s in load.sent if s.instance == "second" and s.status in (200, 202)]
    lost = [s for s in kept if answers[s.key] != 1
            and (s.redis_steady or s.kind != "channel" or answers[s.key] > 1)]
    assert lost == [], f"{len(lost)} of {len(kept)} lost, e.g. {lost[:3]}"
    assert len(kept) > 0
    # A call is in the outbox before its 202, so even those the killed instance took are posted.
    calls = {s.key for s in load.sent if s.kind == "call" and s.status == 202}
    assert {k: answers[k] for k in calls if answers[k] != 1} == {}
    # Teams answers before it acknowledges: every activity either instance took is answered
    # exactly once, however many times and to whichever instance it was delivered.
    teams = {s.key for s in load.sent if s.key[0] == "teams" and s.status == 200}
    assert teams and {k: answers[k] for k in teams if answers[k] != 1} == {}
    assert by_kind["teams-personal-again"] + by_kind["teams-channel-again"] > 0
    assert settled_rss < 1.5 * warm_rss + 30 * MIB, (warm_rss, settled_rss)
    # Slack's deadline, on the 99th percentile so that one stall of a noisy machine does not
    # fail the run; the maximum is in the report above.
    assert percentile(slack_acks, 0.99) < 3.0
