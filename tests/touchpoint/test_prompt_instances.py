"""Three `touchpoint serve` processes, one real Redis, the fake Slack API: one prompt per channel.

The schedule fires a few seconds after the processes start. Mid-run one
instance is killed with SIGKILL, and Redis is killed and, once an instance
has noticed, started again; the test then waits (with a generous hang guard,
never on a clock) until both survivors report the run done, and counts what
reached Slack.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fakes.slack_api import FakeSlackAPI
from local_redis import RedisServer

from adapters.redis_store import RedisStore
from bot.schedule import EVERY_DAY, Subscription

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-1111-2222-fakefakefake"
SERVING = re.compile(r"serving \d+ playbooks on (http://127\.0\.0\.1:\d+)")
DONE = "prompts: run done"
HANG_GUARD = 120.0
"""Seconds any single wait may take before the test fails: only there so a hang ends."""
CHANNELS = 60
RATE = 8.0
LEASE = 3.0
LEAD = 6
"""Seconds from now to the scheduled time: enough for the processes to start."""
GONE = "C0GONE0000"


@dataclass
class Instance:
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def log(self) -> str:
        return "".join(self.lines)


async def follow(instance: Instance) -> None:
    assert instance.proc.stderr is not None
    async for raw in instance.proc.stderr:
        line = raw.decode(errors="replace")
        instance.lines.append(line)
        found = SERVING.search(line)
        if found:
            instance.url = found.group(1)


async def until(what: str, check: object) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not (check() if callable(check) else check):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {HANG_GUARD:g}s for {what}")
        await asyncio.sleep(0.02)


def playbook_folder(tmp: Path, channels: list[str], at: dt.time) -> Path:
    """The shipped playbooks, with half the channels scheduled in schedule.yaml."""
    folder = tmp / "playbooks"
    folder.mkdir()
    for source in (ROOT / "playbooks").glob("*.yaml"):
        if source.name != "schedule.yaml":
            shutil.copy(source, folder / source.name)
    entries = "".join(f"  - platform: slack\n    channel: {c}\n    time: \"{at:%H:%M:%S}\"\n"
                      f"    zone: UTC\n    weekdays: daily\n" for c in channels)
    (folder / "schedule.yaml").write_text("prompts:\n" + entries)
    return folder


def environment(slack_api: FakeSlackAPI, redis: RedisServer, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_")) and k != "PORT"}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="f" * 32, SLACK_API_URL=slack_api.url,
               REDIS_URL=redis.url, TOUCHPOINT_REDIS_PREFIX="tp-instances:",
               TOUCHPOINT_PLAYBOOKS=str(folder), TOUCHPOINT_WATCH_INTERVAL="0",
               TOUCHPOINT_PROMPT_RATE=str(RATE), TOUCHPOINT_PROMPT_LEASE=str(LEASE),
               TOUCHPOINT_LOG_LEVEL="INFO")
    return env


async def start(env: dict[str, str]) -> Instance:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", "serve", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    return Instance(proc)


async def test_three_instances_post_once_per_channel_through_a_kill_and_a_redis_restart(
        tmp_path: Path, private_redis: RedisServer, slack_api: FakeSlackAPI) -> None:
    channels = [f"C0INST{n:04d}" for n in range(CHANNELS - 1)] + [GONE]
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEAD)).replace(microsecond=0)
    folder = playbook_folder(tmp_path, channels[::2], at.time())
    store = RedisStore.from_url(private_redis.url, "tp-instances:")
    for channel in channels[1::2]:
        sub = Subscription("slack", channel, at.time(), "UTC", EVERY_DAY)
        await store.subscribe("slack", channel, sub.to_json())
    limit = slack_api.limit(per_channel=1.0, per_workspace=RATE, workspace_burst=2)
    slack_api.fail("chat.postMessage", "not_in_channel", channel=GONE)
    slack_api.server_error("chat.postMessage", times=2)

    env = environment(slack_api, private_redis, folder)
    instances = [await start(env) for _ in range(3)]
    followers = [asyncio.create_task(follow(i)) for i in instances]
    try:
        await until("three instances serving", lambda: all(i.url for i in instances))
        await until("the first posts", lambda: len(slack_api.delivered()) >= CHANNELS // 4)
        victim, survivors = instances[0], instances[1:]
        victim.proc.send_signal(signal.SIGKILL)
        await victim.proc.wait()
        killed_after = len(slack_api.delivered())
        await until("more posts", lambda: len(slack_api.delivered()) >= CHANNELS // 2)
        private_redis.stop(kill=True)
        restarted_after = len(slack_api.delivered())
        await until("a survivor to notice Redis is gone",
                    lambda: any("redis unreachable" in s.log for s in survivors))
        private_redis.start()
        await until("both survivors to finish the run",
                    lambda: all(DONE in s.log for s in survivors))
    finally:
        for instance in instances:
            if instance.proc.returncode is None:
                instance.proc.send_signal(signal.SIGTERM)
        for instance in instances:
            await asyncio.wait_for(instance.proc.wait(), HANG_GUARD)
        await asyncio.gather(*followers)

    delivered = [c.body["channel"] for c in slack_api.delivered()]
    assert killed_after < CHANNELS - 1 and restarted_after < CHANNELS - 1, "not mid-run"
    assert sorted(delivered) == sorted(channels[:-1]), "each channel exactly once, none lost"
    assert [c.body["channel"] for c in slack_api.calls("chat.postMessage")].count(GONE) == 1
    assert await store.flagged("slack") == {GONE: "not_in_channel"}
    for survivor in survivors:
        assert "Traceback" not in survivor.log, survivor.log
    print(f"\n{len(delivered)} posts; killed after {killed_after}, Redis down after "
          f"{restarted_after}; {limit.refused} calls answered 429; "
          f"{len(slack_api.calls('conversations.history'))} takeovers looked in the channel")
    await store.close()
