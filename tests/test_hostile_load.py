"""Hostile input under load: does it slow the ordinary traffic or change what is stored?

One `touchpoint serve` with a real Redis takes ordinary traffic (signed slash commands,
channel messages that call for a nudge, Teams personal messages) from a few clients,
first alone, then for as long again while other clients send it hostile requests: forged,
stale, unsigned and replayed Slack requests, bodies of several megabytes, malformed JSON
and form bodies, unknown events, forged webhooks, malformed Teams activities, and signed
messages built to hurt: a catastrophic backtracking case for a trigger's regular
expression (a playbook with one is loaded), Unicode and control characters, and markup.

Each hostile request gets its expected status. Those that must change nothing carry the
word HOSTILE in every id, and after the run no post, no Teams reply and no Redis key or
value holds it. Those that deserve an answer (they are signed, only odd) are answered
once. Every ordinary request is answered exactly once in both phases, the Slack
acknowledgements stay inside Slack's 3 seconds, the log holds no error, and memory after
the hostile phase is close to what it was before it. The acknowledgement latency of the
two phases is printed side by side.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import random
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from live_support import eventually
from local_redis import RedisServer
from serve_process import Fleet, health, percentile, rss, unexpected_problems
from soak_support import SIGNING, answers_by_key, environment

sys.path.insert(0, str(Path(__file__).resolve().parent / "adapters"))

from slack_harness import (  # noqa: E402
    FORM,
    command_body,
    mention_event,
    message_event,
    signed_headers,
    texts_that_match,
)
from test_hostile_input import SLOW_PLAYBOOK, STRANGE_TEXTS  # noqa: E402

from bot.library import PlaybookSet  # noqa: E402
from touchpoint import call_signatures, webhooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEAMS_MESSAGE = ROOT / "tests" / "fixtures" / "teams" / "personal_message.json"
NORMAL_CLIENTS = 4
HOSTILE_CLIENTS = 4
MARK = "HOSTILE"
"""In every id of a request that must change nothing."""
MEGABYTES = 5 * 1024 * 1024
BACKTRACKING = "a" * 60 + "b"
"""Years of work for `(a|aa)+$` without the matcher's cutoff."""
MARKUP = ["<!channel> <https://evil.example/login|your invoice> *zzyzx*",
          "<script>alert(1)</script> &lt;!here&gt; zzyzx"]
MIB = 1024 * 1024
CAUSED = [r"ERROR touchpoint\.matcher: playbook slowpoke: regex '\(a\|aa\)\+\$' switched off"]
"""The one error hostile input should log: the backtracking trigger, switched off."""

pytestmark = pytest.mark.soak


@dataclass
class Sent:
    phase: str
    kind: str
    key: tuple[str, str] | None
    """The answer this request names, or None when it must not be answered."""
    status: int
    expected: int
    latency: float


@dataclass
class Request:
    kind: str
    path: str
    body: bytes
    headers: dict[str, str]
    expected: int
    key: tuple[str, str] | None


class Traffic:
    def __init__(self, url: str, nudges: list[str], guides: list[str], service_url: str
                 ) -> None:
        self.url = url
        self.nudges, self.guides = nudges, guides
        self.service_url = service_url
        self.teams = json.loads(TEAMS_MESSAGE.read_text())
        self.numbers = iter(range(1, 10_000_000))
        self.sent: list[Sent] = []
        self.commands: list[Request] = []
        """Ordinary slash commands already sent: what a replay sends again."""

    async def run(self, http: aiohttp.ClientSession, phase: str, seed: int, until: float,
                  make: Callable[[random.Random], Request]) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            request = make(rng)
            started = time.perf_counter()
            data = io.BytesIO(request.body) if len(request.body) > MIB else request.body
            async with http.post(self.url + request.path, data=data,
                                 headers=request.headers) as resp:
                await resp.read()
                status = resp.status
            self.sent.append(Sent(phase, request.kind, request.key, status, request.expected,
                                  time.perf_counter() - started))

    def ordinary(self, rng: random.Random) -> Request:
        n = next(self.numbers)
        kind = rng.choice(["command", "channel", "teams"])
        if kind == "command":
            user = f"U0NORM{n:07d}"
            body = command_body(rng.choice(self.guides), user=user, channel="C0NORMCMD")
            request = Request(kind, "/slack/events", body, signed_headers(body, FORM,
                              secret=SIGNING), 200, ("ephemeral", user))
            self.commands.append(request)
            return request
        if kind == "channel":
            channel, ts = f"C0NORM{n:07d}", f"{1_700_000_000 + n}.000100"
            body = json.dumps(message_event(rng.choice(self.nudges), channel=channel,
                                            ts=ts)).encode()
            return Request(kind, "/slack/events", body, signed_headers(
                body, "application/json", secret=SIGNING), 200, ("thread", f"{channel}/{ts}"))
        activity = f"norm-{n:07d}"
        return Request(kind, "/api/messages", self._activity(activity, rng.choice(self.guides)),
                       {"Content-Type": "application/json"}, 200, ("teams", activity))

    def hostile(self, rng: random.Random) -> Request:
        n = next(self.numbers)
        kind = rng.choice(HOSTILE_KINDS)
        user, channel = f"U0{MARK}{n:07d}", f"C0{MARK}{n:07d}"
        command = command_body("help", user=user, channel=channel)
        json_type = "application/json"
        if kind == "forged":
            return Request(kind, "/slack/events", command,
                           signed_headers(command, FORM, secret="not-the-secret"), 401, None)
        if kind == "stale":
            return Request(kind, "/slack/events", command, signed_headers(
                command, FORM, secret=SIGNING, timestamp=time.time() - 600), 401, None)
        if kind == "unsigned":
            return Request(kind, "/slack/events", command, {"Content-Type": FORM}, 401, None)
        if kind == "replayed" and self.commands:
            again = rng.choice(self.commands)  # byte for byte, signature and all
            return Request(kind, again.path, again.body, again.headers, 200, None)
        if kind == "huge":
            body = b'{"token": "' + MARK.encode() + b" " * MEGABYTES + b'"}'
            return Request(kind, "/slack/events", body,
                           signed_headers(body, json_type, secret=SIGNING), 413, None)
        if kind == "bad-json":
            body = b'{"type": "event_callback", "' + MARK.encode() + b'": [1, 2'
            return Request(kind, "/slack/events", body,
                           signed_headers(body, json_type, secret=SIGNING), 400, None)
        if kind == "bad-form":
            body = b"payload=%7B" + MARK.encode() + b"%22broken"
            return Request(kind, "/slack/events", body,
                           signed_headers(body, FORM, secret=SIGNING), 400, None)
        if kind == "unknown-event":
            event = message_event("help", channel=channel, user=user)
            event["event"]["type"] = "no_such_event"
            body = json.dumps(event).encode()
            return Request(kind, "/slack/events", body,
                           signed_headers(body, json_type, secret=SIGNING), 200, None)
        if kind == "forged-hook":
            body = json.dumps({"platform": "slack", "channel": channel, "customer": "Acme",
                               "summary": rng.choice(self.nudges)}).encode()
            forged = call_signatures.webhook_headers("another", body, f"msg_{n}",
                                                     int(time.time()))
            return Request(kind, webhooks.ROUTE, body, {"Content-Type": json_type, **forged},
                           401, None)
        if kind == "teams-bad-json":
            body = b'{"type": "message", "id": "' + MARK.encode() + b'", "text": '
            return Request(kind, "/api/messages", body, {"Content-Type": json_type}, 400, None)
        if kind == "teams-huge":
            body = self._activity(f"{MARK}-{n}", "help " + " " * MEGABYTES)
            return Request(kind, "/api/messages", body, {"Content-Type": json_type}, 413, None)
        if kind == "teams-unknown":
            raw = json.loads(self._activity(f"{MARK}-{n}", "help"))
            raw["type"] = "noSuchType"
            return Request(kind, "/api/messages", json.dumps(raw).encode(),
                           {"Content-Type": json_type}, 200, None)
        return self._odd(kind if kind != "replayed" else "backtracking", n, rng)

    def _odd(self, kind: str, n: int, rng: random.Random) -> Request:
        """Signed, so from Slack itself, only odd: these deserve an answer, once."""
        if kind == "markup":
            event = mention_event(rng.choice(MARKUP))
            event["event"]["ts"] = ts = f"{1_600_000_000 + n}.000100"
            body = json.dumps(event).encode()
            return Request(kind, "/slack/events", body, signed_headers(
                body, "application/json", secret=SIGNING), 200,
                ("thread", f"{event['event']['channel']}/{ts}"))
        text = BACKTRACKING if kind == "backtracking" else rng.choice(STRANGE_TEXTS)
        user = f"U0ODD{n:07d}"
        body = command_body(text, user=user, channel="C0ODDCMD")
        return Request(kind, "/slack/events", body, signed_headers(body, FORM, secret=SIGNING),
                       200, ("ephemeral", user))

    def _activity(self, activity: str, text: str) -> bytes:
        raw = copy.deepcopy(self.teams)
        raw.update(id=activity, serviceUrl=self.service_url, text=text)
        raw.pop("attachments", None)
        return json.dumps(raw).encode()


HOSTILE_KINDS = ["forged", "stale", "unsigned", "replayed", "huge", "bad-json", "bad-form",
                 "unknown-event", "forged-hook", "teams-bad-json", "teams-huge",
                 "teams-unknown", "backtracking", "strange", "markup"]


async def _stored_text(url: str, prefix: str) -> str:
    """Every key under the prefix with its value, as one text to search."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    parts: list[str] = []
    try:
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            kind = await client.type(key)
            if kind == "string":
                value: object = await client.get(key)
            elif kind == "hash":
                value = await client.hgetall(key)
            elif kind == "set":
                value = sorted(await client.smembers(key))
            elif kind == "zset":
                value = await client.zrange(key, 0, -1, withscores=True)
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            else:
                value = kind
            parts.append(f"{key} {value}")
    finally:
        await client.aclose()
    return "\n".join(parts)


def _milliseconds(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms")


async def test_hostile_input_under_load_changes_nothing_and_keeps_ordinary_answers_flowing(
        private_redis: RedisServer, slack_api: FakeSlackAPI,
        teams_connector: FakeTeamsConnector, library: PlaybookSet, soak_seconds: float,
        tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", folder)
    (folder / "slowpoke.yaml").write_text(SLOW_PLAYBOOK)
    prefix = "tp-hostile:"
    env = environment(slack_api, private_redis, folder, prefix)
    nudges = [t for t, _ in texts_that_match(library, "nudge")]
    guides = [t for t, _ in texts_that_match(library, "guide")]
    async with Fleet(env) as fleet, aiohttp.ClientSession() as http:
        (server,) = await fleet.start("server")
        await slack_api.wait_for("auth.test")
        traffic = Traffic(server.url, nudges, guides, teams_connector.service_url)
        until = time.monotonic() + soak_seconds
        await asyncio.gather(*(traffic.run(http, "calm", n, until, traffic.ordinary)
                               for n in range(NORMAL_CLIENTS)))
        calm_rss = rss(server)
        until = time.monotonic() + soak_seconds
        await asyncio.gather(
            *(traffic.run(http, "hostile", n, until, traffic.ordinary)
              for n in range(NORMAL_CLIENTS)),
            *(traffic.run(http, "hostile", 100 + n, until, traffic.hostile)
              for n in range(HOSTILE_CLIENTS)))
        expected = {s.key for s in traffic.sent if s.key is not None}
        answers = Counter[tuple[str, str]]()

        def all_answered() -> bool:
            answers.clear()
            answers.update(answers_by_key(slack_api, teams_connector))
            return expected <= set(answers)

        await eventually(all_answered, "every answer", 120.0)
        after = await health(http, server)
        async with http.get(server.url + "/metrics") as resp:
            exposition = await resp.text()
        hostile_rss = rss(server)
        stored = await _stored_text(private_redis.url, prefix)

    ordinary = {"command", "channel", "teams"}
    calm = [s.latency for s in traffic.sent if s.phase == "calm" and s.kind != "teams"]
    busy = [s.latency for s in traffic.sent
            if s.phase == "hostile" and s.kind in ordinary - {"teams"}]
    kinds = Counter(s.kind for s in traffic.sent if s.kind not in ordinary)
    print(f"\nhostile load {soak_seconds:g}s + {soak_seconds:g}s: {len(traffic.sent)} requests, "
          f"{sum(kinds.values())} hostile {dict(kinds)}\n"
          f"ordinary Slack acks alone: {_milliseconds(calm)} ({len(calm)})\n"
          f"ordinary Slack acks under hostile input: {_milliseconds(busy)} ({len(busy)}); "
          f"median {statistics.median(busy) / statistics.median(calm):.2f}x\n"
          f"RSS {calm_rss / MIB:.1f} MiB after the calm phase, {hostile_rss / MIB:.1f} MiB "
          f"after the hostile one")

    wrong = [(s.kind, s.status, s.expected) for s in traffic.sent if s.status != s.expected]
    assert wrong == []
    assert set(kinds) == set(HOSTILE_KINDS), kinds
    assert {k: n for k, n in answers.items() if n != 1} == {}
    assert MARK not in json.dumps([c.body for c in slack_api.calls()])
    assert MARK not in json.dumps([r.body for r in teams_connector.requests])
    assert MARK not in stored
    assert after["status"] == "ok" and after["redis"] == "ok", after
    assert unexpected_problems(server, CAUSED) == [], server.log[-5000:]
    assert 'touchpoint_regex_switched_off{playbook="slowpoke",regex="(a|aa)+$"} 1' \
        in exposition.splitlines()
    assert hostile_rss < 1.5 * calm_rss + 30 * MIB, (calm_rss, hostile_rss)
    # Slack's deadline, on the 99th percentile so that one stall of a noisy machine does
    # not fail the run; the figures are printed above.
    assert percentile(busy, 0.99) < 3.0
