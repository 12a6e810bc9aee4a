"""Three `touchpoint serve` processes, one real Redis, the fake Slack API: one prompt per channel.

The schedule fires a few seconds after the processes start. Mid-run one
instance is killed with SIGKILL, and Redis is killed and, once an instance
has noticed, started again; the test then waits (with a generous hang guard,
never on a clock) until both survivors report the run done, and counts what
reached Slack.
"""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable
from pathlib import Path

from fakes.slack_api import FakeSlackAPI
from live_support import eventually, scheduled_playbooks
from local_redis import RedisServer
from serve_process import HANG_GUARD, Fleet, clean_environment, unexpected_problems

from adapters.redis_store import RedisStore
from bot.schedule import EVERY_DAY, Subscription

TOKEN = "xoxb-1111-2222-fakefakefake"
DONE = "prompts: run done"
CHANNELS = 60
RATE = 8.0
LEASE = 3.0
LEAD = 6
"""Seconds from now to the scheduled time: enough for the processes to start."""
GONE = "C0GONE0000"


async def until(what: str, check: Callable[[], object]) -> None:
    await eventually(check, what, HANG_GUARD)


def environment(slack_api: FakeSlackAPI, redis: RedisServer, folder: Path) -> dict[str, str]:
    env = clean_environment()
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="f" * 32, SLACK_API_URL=slack_api.url,
               REDIS_URL=redis.url, TOUCHPOINT_REDIS_PREFIX="tp-instances:",
               TOUCHPOINT_PLAYBOOKS=str(folder), TOUCHPOINT_WATCH_INTERVAL="0",
               TOUCHPOINT_PROMPT_RATE=str(RATE), TOUCHPOINT_PROMPT_LEASE=str(LEASE),
               TOUCHPOINT_LOG_LEVEL="INFO")
    return env


async def test_three_instances_post_once_per_channel_through_a_kill_and_a_redis_restart(
        tmp_path: Path, private_redis: RedisServer, slack_api: FakeSlackAPI) -> None:
    channels = [f"C0INST{n:04d}" for n in range(CHANNELS - 1)] + [GONE]
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEAD)).replace(microsecond=0)
    folder = scheduled_playbooks(tmp_path, channels[::2], at.time())
    store = RedisStore.from_url(private_redis.url, "tp-instances:")
    for channel in channels[1::2]:
        sub = Subscription("slack", channel, at.time(), "UTC", EVERY_DAY)
        await store.subscribe("slack", channel, sub.to_json())
    limit = slack_api.limit(per_channel=1.0, per_workspace=RATE, workspace_burst=2)
    slack_api.fail("chat.postMessage", "not_in_channel", channel=GONE)
    slack_api.server_error("chat.postMessage", times=2)

    env = environment(slack_api, private_redis, folder)
    async with Fleet(env) as fleet:
        instances = await fleet.start(*(f"instance {n}" for n in range(3)))
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

    delivered = [c.body["channel"] for c in slack_api.delivered()]
    assert killed_after < CHANNELS - 1 and restarted_after < CHANNELS - 1, "not mid-run"
    assert sorted(delivered) == sorted(channels[:-1]), "each channel exactly once, none lost"
    assert [c.body["channel"] for c in slack_api.calls("chat.postMessage")].count(GONE) == 1
    assert await store.flagged("slack") == {GONE: "not_in_channel"}
    for instance in instances:  # not_in_channel, 500s and Redis down are warnings
        assert unexpected_problems(instance, []) == [], instance.log
    print(f"\n{len(delivered)} posts; killed after {killed_after}, Redis down after "
          f"{restarted_after}; {limit.refused} calls answered 429; "
          f"{len(slack_api.calls('conversations.history'))} takeovers looked in the channel")
    await store.close()
