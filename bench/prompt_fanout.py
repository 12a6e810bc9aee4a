"""One daily-prompt run to many channels, against Slack-like rate limits: how close to the limit?

Every channel is subscribed in Redis (as `/touchpoint subscribe` does) for a time a
few seconds ahead. `--instances` `touchpoint serve` processes share one Redis and
the run: the store's claims decide who posts where, its shared pacer keeps them
together at TOUCHPOINT_PROMPT_RATE. The fake Slack API (`tests/fakes/slack_api.py`,
in this process) enforces one message a second per channel and `--rate` a second
per workspace (with a burst of `--burst`), answering 429 with Retry-After beyond
either, as Slack does.

Reported: the time from the scheduled instant to the last post against the least
the workspace rate allows, the 429s drawn, and from the fake's own record of what
it accepted, duplicates and losses (both must be 0).

`--baseline PATH` runs the same fan-out first with the `touchpoint serve` of another
checkout (e.g. a worktree of main; with that checkout's `.venv` if it has one, since
older code needs older packages), so the two rows come from one run of the machine.
The fake Slack API stands for Slack's servers, which do not share a CPU with
Touchpoint: this process asks for a higher priority (nice -10, when allowed) and puts
Redis and the serve processes back at the normal one, and turns its own garbage collector
off (the fake keeps every call it answered: a full collection over 10,000 of them stalls
it for a quarter of a second), so a stall of the fake itself (it counts requests as it
reads them, and answers a burst queued behind a stall with 429s) is not charged to the
instances' pacing.

    python bench/prompt_fanout.py                       # 10,000 channels at 100/s, 3 instances
    python bench/prompt_fanout.py --quick               # 1,000 channels
    python bench/prompt_fanout.py --channels 10000 --rate 200 --instances 1 --pace 0.9
    python bench/prompt_fanout.py --instances 1 --baseline ../touchpoint-main
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.slack_api import FakeSlackAPI  # noqa: E402
from local_redis import RedisServer  # noqa: E402

from adapters.redis_store import RedisStore  # noqa: E402
from bot.schedule import EVERY_DAY, Subscription  # noqa: E402

TOKEN = "xoxb-0000000000-0000000000000-benchbenchbench"
PREFIX = "bench:"
DONE = b"prompts: run done"
LEAD = 8.0
"""Seconds from starting the servers to the scheduled time: they are all up by then."""


async def subscribe(url: str, channels: list[str], at: dt.time) -> None:
    store = RedisStore.from_url(url, PREFIX)
    spec = Subscription("slack", "", at, "UTC", EVERY_DAY).to_json()
    for start in range(0, len(channels), 50):
        await asyncio.gather(*(store.subscribe("slack", c, spec)
                               for c in channels[start:start + 50]))
    await store.close()


def raise_priority() -> bool:
    """Whether this process (the fake Slack API) now runs ahead of Touchpoint's processes."""
    try:
        os.nice(-10)
    except PermissionError:
        return False
    return True


def normal_priority(pid: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 0)
    except PermissionError:
        pass


async def serve(env: dict[str, str], root: Path) -> tuple[asyncio.subprocess.Process,
                                                          asyncio.Event]:
    own = root / ".venv" / "bin" / "python"  # an older checkout may need its own packages
    python = str(own) if root != ROOT and own.exists() else sys.executable
    proc = await asyncio.create_subprocess_exec(
        python, "-m", "touchpoint.cli", "serve", "--port", "0", cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    normal_priority(proc.pid)
    done = asyncio.Event()

    async def follow() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            if DONE in line:
                done.set()
            elif b"Traceback" in line or b"ERROR" in line:
                sys.stderr.write(line.decode(errors="replace"))

    asyncio.get_running_loop().create_task(follow())
    return proc, done


async def finished(proc: asyncio.subprocess.Process, done: asyncio.Event) -> None:
    """Until the instance logs the run's end; a process that exits first ends the bench."""
    ended = asyncio.ensure_future(proc.wait())
    told = asyncio.ensure_future(done.wait())
    await asyncio.wait({ended, told}, return_when=asyncio.FIRST_COMPLETED)
    if not told.done():
        told.cancel()
        raise SystemExit(f"a serve process exited ({proc.returncode}) before the run ended")
    ended.cancel()


async def run(channels: int, rate: float, burst: float, instances: int,
              pace: float, root: Path = ROOT) -> dict[str, float]:
    api = FakeSlackAPI()
    api.start()
    limit = api.limit(per_channel=1.0, per_workspace=rate, workspace_burst=burst)
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        normal_priority(redis.pid)
        names = [f"C0FAN{n:06d}" for n in range(channels)]
        due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEAD)).replace(microsecond=0)
        await subscribe(redis.url, names, due.time())
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_"))}
        env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="f" * 32,
                   SLACK_API_URL=api.url, REDIS_URL=redis.url, TOUCHPOINT_REDIS_PREFIX=PREFIX,
                   TOUCHPOINT_PROMPT_RATE=str(rate * pace), TOUCHPOINT_WATCH_INTERVAL="0",
                   TOUCHPOINT_PLAYBOOKS=str(ROOT / "playbooks"), TOUCHPOINT_LOG_LEVEL="INFO")
        servers = [await serve(env, root) for _ in range(instances)]
        await asyncio.gather(*(finished(proc, done) for proc, done in servers))
        ended = time.time()
        for proc, _ in servers:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers:
            await proc.wait()
        redis.stop()
    delivered = api.delivered()
    api.stop()
    posted = Counter(c.body["channel"] for c in delivered)
    last = max((c.at for c in delivered), default=due.timestamp())
    took = last - due.timestamp()
    least = max(0.0, channels - burst) / rate
    return {
        "channels": channels, "instances": instances, "rate": rate, "took": took,
        "done": ended - due.timestamp(), "least": least,
        "efficiency": least / took if took > 0 else 0.0,
        "posted": sum(posted.values()), "duplicates": sum(n - 1 for n in posted.values()),
        "lost": channels - len(posted), "refused": limit.refused,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0,
                        help="the workspace's messages per second")
    parser.add_argument("--pace", type=float, default=1.0, help="TOUCHPOINT_PROMPT_RATE as a "
                        "fraction of --rate (below 1 leaves headroom for jitter)")
    parser.add_argument("--burst", type=float, default=5.0,
                        help="messages the workspace takes at once above the rate")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 channels")
    parser.add_argument("--baseline", type=Path, help="another checkout of Touchpoint to run "
                        "first with the same settings, for a side-by-side row")
    args = parser.parse_args()
    channels = 1_000 if args.quick else args.channels
    raised = raise_priority()
    gc.disable()  # see the module docstring: the fake's stalls are not Touchpoint's
    print(f"fake Slack API at {'nice -10' if raised else 'the same priority as Touchpoint'}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    roots = [("baseline", args.baseline.resolve())] if args.baseline else []
    roots.append(("this checkout", ROOT))
    results = []
    for name, root in roots:
        result = asyncio.run(run(channels, args.rate, args.burst, args.instances, args.pace,
                                 root))
        results.append((name, result))
    print("| code | channels | instances | workspace rate/s | paced at | last post s | least s | "
          "of the least | all done s | posts | duplicates | lost | 429s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in results:
        print(f"| {name} | {result['channels']:,.0f} | {result['instances']:.0f} | "
              f"{result['rate']:g} | {args.pace:.0%} | "
              f"{result['took']:.1f} | {result['least']:.1f} | {result['efficiency']:.1%} | "
              f"{result['done']:.1f} | {result['posted']:,.0f} | {result['duplicates']:.0f} | "
              f"{result['lost']:.0f} | {result['refused']:.0f} |")
    if len(results) == 2:
        print(f"last post, this checkout / baseline: "
              f"{results[1][1]['took'] / results[0][1]['took']:.2f}x")
    ok = all(r["duplicates"] == 0 and r["lost"] == 0 for _, r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
