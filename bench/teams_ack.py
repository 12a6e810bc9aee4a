"""Teams activities per second through `POST /api/messages`, and how fast Teams gets its answer.

Two builds of `touchpoint serve` take the same load, one after the other, in the same run:

- current: this checkout (Teams on the Microsoft 365 Agents SDK).
- earlier: another checkout given with `--against`, with its own `.venv` (for instance the
  last commit on botbuilder, checked out with `git worktree add`).

Both run in Teams dev mode (`TOUCHPOINT_TEAMS_DEV=1`: no token, since tests cannot get one
from Microsoft) as their own process, with replies going to the fake connector
(`tests/fakes/teams_connector.py`) in a thread of this process. Half the activities are 1:1
messages, each answered with a card; half are channel messages without a mention, which the
server matches and sometimes nudges. Teams waits for the whole turn, replies included, so
the latency is from sending an activity to having read the response.

    python bench/teams_ack.py --against ../touchpoint-old      # 3 rounds: 600 at 20/s, 2,000
    python bench/teams_ack.py --quick                           # this checkout only, 1 round
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fakes.teams_connector import FakeTeamsConnector  # noqa: E402
from slack_ack import Result, free_port, load, load_at_rate, merge, row, texts  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "teams"
CHANNELS = 200


class ConnectorThread:
    """The fake connector on its own event loop, so it does not share the load's."""

    def __init__(self) -> None:
        self.connector = FakeTeamsConnector()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.connector.start(), self._loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.connector.close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def posted(self) -> int:
        return len(self.connector.requests)


def activity(text: str, n: int, rng: random.Random, service_url: str) -> bytes:
    if n % 2:
        raw = json.loads((FIXTURES / "personal_message.json").read_text())
        raw["conversation"]["id"] = f"a:1BenchPersonal{rng.randrange(CHANNELS):04d}"
    else:
        raw = json.loads((FIXTURES / "message.json").read_text())
        raw["entities"] = []
        raw["conversation"]["id"] = (f"19:bench{rng.randrange(CHANNELS):04d}@thread.tacv2;"
                                     f"messageid={1_700_000_000_000 + n}")
    raw.update(id=f"{1_700_000_000_000 + n}", text=text, serviceUrl=service_url)
    return json.dumps(raw).encode()


def start(root: Path, python: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_"))}
    env.update(TOUCHPOINT_TEAMS_DEV="1", TOUCHPOINT_LOG_LEVEL="WARNING",
               TOUCHPOINT_PLAYBOOKS=str(ROOT / "playbooks"))
    command = [python, "-m", "touchpoint.cli", "serve", "--port", str(port)]
    return f"http://127.0.0.1:{port}", subprocess.Popen(command, cwd=root, env=env)


async def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
            try:
                async with http.get(url + "/healthz") as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url}: not up after 60 s")


async def measure(root: Path, python: str, fake: ConnectorThread, warmup: list[bytes],
                  steady: list[bytes], saturating: list[bytes], concurrency: int,
                  rate: float) -> tuple[Result, Result, int]:
    url, proc = start(root, python)
    try:
        await wait_up(url, proc)
        await load(url + "/api/messages", warmup, concurrency)
        before = fake.posted()
        at_rate = await load_at_rate(url + "/api/messages", steady, rate)
        saturated = await load(url + "/api/messages", saturating, concurrency)
    finally:
        proc.terminate()
        proc.wait(30)
    return at_rate, saturated, fake.posted() - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--against", type=Path,
                        help="an earlier checkout with its own .venv, measured in turn")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="activities/s of the open-loop run (below both builds' capacity)")
    parser.add_argument("--steady", type=int, default=600,
                        help="activities in the open-loop run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.events, args.steady, args.rounds = 500, 200, 1
    builds = {"current": (ROOT, sys.executable)}
    if args.against is not None:
        builds["earlier"] = (args.against.resolve(),
                             str(args.against.resolve() / ".venv" / "bin" / "python"))
    rng = random.Random(3)
    pool = texts()
    counter = iter(range(10**9))
    fake = ConnectorThread()
    fake.start()
    service_url = fake.connector.service_url

    def batch(size: int) -> list[bytes]:
        return [activity(rng.choice(pool), next(counter), rng, service_url)
                for _ in range(size)]

    steady = {name: Result() for name in builds}
    saturated = {name: Result() for name in builds}
    posted = dict.fromkeys(builds, 0)
    try:
        for _ in range(args.rounds):
            for name, (root, python) in builds.items():
                at_rate, full, count = await measure(
                    root, python, fake, batch(200), batch(args.steady), batch(args.events),
                    args.concurrency, args.rate)
                merge(steady[name], at_rate)
                merge(saturated[name], full)
                posted[name] += count
    finally:
        fake.stop()
    print(f"{args.rounds} round(s); each: {args.steady} Teams activities at {args.rate:g}/s, "
          f"then {args.events} with {args.concurrency} in flight; {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}\n")
    print("| build | load | activities/s | answer median ms | answer p99 ms | non-200 |")
    print("|---|---|---:|---:|---:|---:|")
    for name in builds:
        print(row(f"{name} | {args.rate:g}/s", steady[name], False))
        print(row(f"{name} | {args.concurrency} in flight", saturated[name], True))
    for name in builds:
        print(f"{name}: {posted[name]} posts to the connector")
    if "earlier" in builds:
        c, e = saturated["current"], saturated["earlier"]
        sc, se = steady["current"], steady["earlier"]
        print(f"\ncurrent / earlier: at {args.rate:g}/s answer median "
              f"{sc.percentile(0.5) / se.percentile(0.5):.3g}x and p99 "
              f"{sc.percentile(0.99) / se.percentile(0.99):.3g}x; with {args.concurrency} in "
              f"flight throughput {c.rate / e.rate:.3g}x, answer median "
              f"{c.percentile(0.5) / e.percentile(0.5):.3g}x and p99 "
              f"{c.percentile(0.99) / e.percentile(0.99):.3g}x")


if __name__ == "__main__":
    asyncio.run(main())
