"""What the load tests against `touchpoint serve` share: its settings and the answers'
count by key.

Every request of those tests names its own answer (the asker, the thread, the channel or
the Teams activity id), so counting the fakes' records by that key shows whether each
request was answered once, twice or not at all.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from local_redis import RedisServer
from serve_process import clean_environment

TOKEN = "xoxb-1111-2222-fakefakefake"
SIGNING = "f" * 32
HOOK_SECRET = "soak-webhook-secret"


def environment(slack_api: FakeSlackAPI, redis: RedisServer, playbooks: Path, prefix: str
                ) -> dict[str, str]:
    """Slack, Teams (dev mode: loopback callers only), webhooks and Redis, all local."""
    env = clean_environment()
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING, SLACK_API_URL=slack_api.url,
               REDIS_URL=redis.url, TOUCHPOINT_REDIS_PREFIX=prefix,
               TOUCHPOINT_PLAYBOOKS=str(playbooks), TOUCHPOINT_WATCH_INTERVAL="0.1",
               TOUCHPOINT_WEBHOOK_SECRET=HOOK_SECRET, TOUCHPOINT_LOG_LEVEL="INFO",
               TOUCHPOINT_TEAMS_DEV="1")
    return env


def answers_by_key(slack_api: FakeSlackAPI, connector: FakeTeamsConnector
                   ) -> Counter[tuple[str, str]]:
    """Successful posts by the key each request put in its answer."""
    counts: Counter[tuple[str, str]] = Counter()
    for post in connector.posted:
        if post.reply_to:
            counts[("teams", post.reply_to)] += 1
    for call in slack_api.calls():
        if not call.ok:
            continue
        body = call.body
        if call.method == "chat.postEphemeral":
            counts[("ephemeral", str(body.get("user", "")))] += 1
        elif call.method == "chat.postMessage":
            if body.get("thread_ts"):
                counts[("thread", f"{body['channel']}/{body['thread_ts']}")] += 1
            else:
                counts[("post", body["channel"])] += 1
    return counts
