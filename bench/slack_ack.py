"""Signed Slack events per second through `POST /slack/events`, and how fast Slack gets its 200.

Two servers take the same load, one after the other, in the same run:

- touchpoint: `touchpoint serve` as the Procfile runs it, with Slack on. Every event is a
  channel message that it matches, and some become a nudge posted to the Web API, all
  after the acknowledgement and in the same process.
- bare: a slack-bolt AsyncApp with one empty `message` listener behind the same aiohttp
  adapter, the least any bolt app does.

Both run as their own process with the Web API pointed at the fake Slack API on this
machine, and the load generator sends each event signed with a fresh timestamp, as Slack
does, keeping `--concurrency` requests in flight. Latency is from sending a request to
having read the whole response: the acknowledgement Slack waits for (it gives up at 3 s).

    python bench/slack_ack.py                 # 3 rounds: 3,000 events at 200/s, 3,000 50 at a time
    python bench/slack_ack.py --quick         # 1 round of 1,000
    python bench/slack_ack.py --events 10000 --concurrency 100
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.slack_api import FakeSlackAPI  # noqa: E402

SECRET = "8f742231b10e8888abcd99edabcd00d0"
TOKEN = "xoxb-0000000000-0000000000000-benchbenchbench"
CHANNELS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def texts() -> list[str]:
    """Real-sounding channel traffic: the evaluation sets' chatter and customer moments."""
    found = []
    for name in ("eval_chatter.jsonl", "eval_touchpoints.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text().splitlines():
            if line.strip():
                found.append(json.loads(line)["text"])
    return found


def event_body(text: str, n: int, rng: random.Random) -> bytes:
    ts = f"{1_700_000_000 + n}.{n % 1_000_000:06d}"
    return json.dumps({
        "token": "fake-verification-token", "team_id": "T0FAKE", "api_app_id": "A0FAKEAPP",
        "event": {"client_msg_id": f"00000000-0000-4000-8000-{n:012d}", "type": "message",
                  "text": text, "user": "U0FAKEUSER", "ts": ts, "team": "T0FAKE",
                  "channel": f"C0BENCH{rng.randrange(CHANNELS):04d}", "event_ts": ts,
                  "channel_type": "channel"},
        "type": "event_callback", "event_id": f"Ev0BENCH{n:09d}", "event_time": 1_700_000_000 + n,
        "authorizations": [{"enterprise_id": None, "team_id": "T0FAKE", "user_id": "U0FAKEBOT",
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": "4-fake-event-context",
    }).encode()


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + mac.hexdigest()}


@dataclass
class Result:
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed_post(http: aiohttp.ClientSession, url: str, body: bytes, result: Result) -> None:
    """One signed event; its latency is until the whole response was read, as Slack waits."""
    start = time.perf_counter()
    async with http.post(url, data=body, headers=signed(body)) as resp:
        await resp.read()
        ok = resp.status == 200
    result.latencies.append(time.perf_counter() - start)
    result.failures += not ok


async def load(url: str, bodies: list[bytes], concurrency: int) -> Result:
    result = Result()
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def worker() -> None:
            for body in queue:
                await timed_post(http, url, body, result)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    result.events = len(bodies)
    return result


async def load_at_rate(url: str, bodies: list[bytes], rate: float) -> Result:
    """Open loop: events arrive at `rate` per second whether or not the server keeps up."""
    result = Result()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def one(body: bytes, when: float) -> None:
            await asyncio.sleep(max(0.0, when - time.perf_counter()))
            await timed_post(http, url, body, result)

        began = time.perf_counter()
        await asyncio.gather(*(one(b, began + i / rate) for i, b in enumerate(bodies)))
        result.seconds = time.perf_counter() - began
    result.events = len(bodies)
    return result


async def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
            try:
                async with http.get(url + "/healthz") as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url}: not up after 60 s")


def start(kind: str, api_url: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_"))}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
               TOUCHPOINT_LOG_LEVEL="WARNING", TOUCHPOINT_PLAYBOOKS=str(ROOT / "playbooks"))
    if kind == "touchpoint":
        command = [sys.executable, "-m", "touchpoint.cli", "serve", "--port", str(port)]
    else:
        command = [sys.executable, __file__, "--bare-server", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    return f"http://127.0.0.1:{port}", proc


def bare_server(port: int) -> None:
    """The baseline: bolt's own defaults, one empty listener, the same aiohttp adapter."""
    import logging

    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    logging.basicConfig(level=logging.WARNING)
    token = os.environ.pop("SLACK_BOT_TOKEN")  # given through the client, as bolt prefers
    bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=os.environ["SLACK_API_URL"]),
                    signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @bolt.event("message")
    async def nothing() -> None:
        pass

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class Run:
    saturated: Result
    steady: Result
    posted: int


async def measure(kind: str, fake: FakeSlackAPI, warmup: list[bytes], bodies: list[bytes],
                  steady: list[bytes], concurrency: int, rate: float) -> Run:
    """One server's runs, and how many messages it posted for the measured events."""
    url, proc = start(kind, fake.url)
    try:
        await wait_up(url, proc)
        await load(url + "/slack/events", warmup, concurrency)
        await asyncio.sleep(1)  # let the warm-up's answers finish
        before = len(fake.calls("chat.postMessage"))
        at_rate = await load_at_rate(url + "/slack/events", steady, rate)
        saturated = await load(url + "/slack/events", bodies, concurrency)
    finally:
        proc.terminate()  # SIGTERM: touchpoint finishes the posts it has taken on
        proc.wait(30)
    return Run(saturated, at_rate, len(fake.calls("chat.postMessage")) - before)


def merge(total: Result, part: Result) -> None:
    total.events += part.events
    total.seconds += part.seconds
    total.latencies += part.latencies
    total.failures += part.failures


def row(name: str, r: Result, with_rate: bool) -> str:
    rate = f"{r.rate:,.0f}" if with_rate else "-"
    return (f"| {name} | {rate} | {r.percentile(0.5):.2f} | {r.percentile(0.99):.2f} "
            f"| {r.failures} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="events/s of the open-loop run (below both servers' capacity)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rounds = 1000, 1
    rng = random.Random(3)
    pool = texts()
    counter = iter(range(10**9))

    def batch(size: int) -> list[bytes]:
        return [event_body(rng.choice(pool), next(counter), rng) for _ in range(size)]

    fake = FakeSlackAPI()
    fake.start()
    saturated = {"bare": Result(), "touchpoint": Result()}
    steady = {"bare": Result(), "touchpoint": Result()}
    posted = 0
    try:
        for _ in range(args.rounds):
            for kind in ("bare", "touchpoint"):
                fake.reset()
                run = await measure(kind, fake, batch(300), batch(args.events),
                                    batch(args.events), args.concurrency, args.rate)
                merge(saturated[kind], run.saturated)
                merge(steady[kind], run.steady)
                posted += run.posted if kind == "touchpoint" else 0
    finally:
        fake.stop()
    print(f"{args.rounds} round(s); each: {args.events} signed message events at "
          f"{args.rate:g}/s, then {args.events} with {args.concurrency} in flight; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")
    print("| server | load | events/s | ack median ms | ack p99 ms | non-200 |")
    print("|---|---|---:|---:|---:|---:|")
    for kind, name in (("bare", "bare slack-bolt, one empty listener"),
                       ("touchpoint", "touchpoint serve")):
        print(row(f"{name} | {args.concurrency} in flight", saturated[kind], True))
        print(row(f"{name} | {args.rate:g}/s", steady[kind], False))
    b, t = saturated["bare"], saturated["touchpoint"]
    sb, st = steady["bare"], steady["touchpoint"]
    print(f"\ntouchpoint / bare: throughput {t.rate / b.rate:.2f}x; ack median "
          f"{t.percentile(0.5) / b.percentile(0.5):.2f}x and p99 "
          f"{t.percentile(0.99) / b.percentile(0.99):.2f}x with {args.concurrency} in flight; "
          f"ack median {st.percentile(0.5) / sb.percentile(0.5):.2f}x and p99 "
          f"{st.percentile(0.99) / sb.percentile(0.99):.2f}x at {args.rate:g}/s")
    events = t.events + st.events
    print(f"touchpoint matched every event and posted {posted} nudges to the Web API "
          f"({posted / max(1, events):.1%} of the measured events)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare-server":
        bare_server(int(sys.argv[2]))
    else:
        asyncio.run(main())
