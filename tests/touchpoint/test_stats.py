"""`touchpoint stats --team`: one Slack workspace's usage, when Touchpoint is installed in many,
read from a real Redis by the command as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from adapters.redis_store import RedisStore
from bot.analytics import iso_week

ROOT = Path(__file__).resolve().parents[2]


def stats(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCH", "REDIS_"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "touchpoint.cli", "stats", *args],
                          capture_output=True, text=True, cwd=ROOT, env=environment,
                          timeout=300)


async def test_stats_of_one_workspace_reads_only_that_workspace(redis_url: str,
                                                               redis_prefix: str) -> None:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    week = iso_week(time.time())
    try:
        one, two = store.for_team("-:T0ONE"), store.for_team("E0ORG:T0TWO")
        await one.incr_counts(week, "guide:price-objection", 3)
        await one.add_question(week, "where is the booth at the fair", keep=10)
        await two.incr_counts(week, "nudge:renewal", 5)
        await two.add_question(week, "what about parking fines", keep=10)
        await store.incr_counts(week, "guide:renewal", 7)  # counted in no workspace
    finally:
        await store.close()
    env = {"REDIS_URL": redis_url, "TOUCHPOINT_REDIS_PREFIX": redis_prefix}

    found = stats("--json", "--team", "T0ONE", env=env)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["team"] == "-:T0ONE"
    assert data["total"]["playbooks"]["price-objection"]["guide"] == 3
    renewal = data["total"]["playbooks"]["renewal"]
    assert (renewal["guide"], renewal["nudge"]) == (0, 0)
    assert data["weeks"][0]["questions"] == ["where is the booth at the fair"]

    grid = stats("--json", "--team", "E0ORG:T0TWO", env=env)
    data = json.loads(grid.stdout)
    assert data["team"] == "E0ORG:T0TWO"
    assert data["total"]["playbooks"]["renewal"]["nudge"] == 5
    assert data["total"]["playbooks"]["renewal"]["guide"] == 0
    assert data["total"]["playbooks"]["price-objection"]["guide"] == 0
    assert data["weeks"][0]["questions"] == ["what about parking fines"]

    table = stats("--team", "T0ONE", env=env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("Slack workspace -:T0ONE\n")
    assert "where is the booth" in table.stdout and "parking fines" not in table.stdout

    plain = json.loads(stats("--json", env=env).stdout)
    assert plain["team"] == "" and plain["weeks"][0]["questions"] == []
    assert plain["total"]["playbooks"]["renewal"]["guide"] == 7
    assert plain["total"]["playbooks"]["price-objection"]["guide"] == 0

    unseen = json.loads(stats("--json", "--team", "T0NEVER", env=env).stdout)
    assert all(not any(c.values()) for c in unseen["total"]["playbooks"].values())


def test_stats_refuses_a_team_that_is_not_a_workspace_id(redis_url: str,
                                                         redis_prefix: str) -> None:
    done = stats("--team", "#general", env={"REDIS_URL": redis_url,
                                            "TOUCHPOINT_REDIS_PREFIX": redis_prefix})
    assert done.returncode == 2 and done.stdout == ""
    assert "--team: must be a Slack workspace id like T0123ABCD" in done.stderr
