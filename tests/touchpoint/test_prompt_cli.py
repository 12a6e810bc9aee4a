"""`touchpoint schedule`, `prompt` and `check` on a schedule, run as subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlackAPI

from adapters.redis_store import RedisStore

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-1111-2222-fakefakefake"
SCHEDULE = """\
prompts:
  - platform: slack
    channel: C0GITSCHED
    time: "23:59"
    zone: Pacific/Kiritimati
    weekdays: daily
  - platform: teams
    channel: "19:abc@thread.tacv2"
    time: "09:00"
    zone: Europe/Berlin
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCHPOINT_", "REDIS_", "Microsoft"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "touchpoint.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=environment, timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for source in (ROOT / "playbooks").glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "schedule.yaml").write_text(SCHEDULE)
    return tmp_path


def test_schedule_lists_the_next_run_of_every_channel(folder: Path, redis_url: str,
                                                      redis_prefix: str) -> None:
    async def subscribe() -> None:
        store = RedisStore.from_url(redis_url, redis_prefix)
        await store.subscribe("slack", "C0CHATSUB1", '{"time": "06:30", "zone": "UTC", '
                              '"weekdays": [0, 1, 2, 3, 4], "playbooks": []}')
        await store.flag("slack", "C0CHATSUB1", "not_in_channel")
        await store.close()

    asyncio.run(subscribe())
    done = run("--playbooks", str(folder), "schedule",
               env={"REDIS_URL": redis_url, "TOUCHPOINT_REDIS_PREFIX": redis_prefix})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    by_channel = {line.split("  ")[1]: line for line in lines}
    assert "23:59 Pacific/Kiritimati, every day  [schedule.yaml:2]" in by_channel[
        "slack:C0GITSCHED"]
    assert "09:00 Europe/Berlin, Mon-Fri  [schedule.yaml:7]" in by_channel[
        "teams:19:abc@thread.tacv2"]
    assert "06:30 UTC, Mon-Fri  [chat]  FLAGGED: not_in_channel" in by_channel[
        "slack:C0CHATSUB1"]
    assert "(23:59 UTC" not in by_channel["slack:C0GITSCHED"]
    assert "09:59 UTC)" in by_channel["slack:C0GITSCHED"]


def test_schedule_and_check_report_a_bad_schedule_with_its_position(folder: Path) -> None:
    (folder / "schedule.yaml").write_text(SCHEDULE.replace("Europe/Berlin", "Europe/Berln"))
    for command in ("schedule", "check"):
        done = run("--playbooks", str(folder), command)
        assert done.returncode == 1
        assert f"{folder}/schedule.yaml:10:5: prompts[1].zone: 'Europe/Berln' is not a time " \
               "zone (did you mean Europe/Berlin" in done.stderr


def test_check_annotates_a_bad_schedule_for_github(folder: Path) -> None:
    (folder / "schedule.yaml").write_text(SCHEDULE.replace("Europe/Berlin", "Europe/Berln"))
    done = run("check", "--format", "github", str(folder))
    assert done.returncode == 1
    [annotation] = done.stdout.splitlines()
    assert annotation.startswith(f"::error file={folder}/schedule.yaml,line=10,col=5,"
                                 "title=touchpoint check%3A prompts[1].zone::"), annotation
    assert "'Europe/Berln' is not a time zone" in annotation
    assert f"{folder}/schedule.yaml:10:5: prompts[1].zone:" in done.stderr, "plain on stderr"


def test_check_counts_the_scheduled_channels(folder: Path) -> None:
    done = run("check", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("2 channels in schedule.yaml")


def test_prompt_posts_once_a_day(slack_api: FakeSlackAPI, folder: Path, redis_url: str,
                                 redis_prefix: str) -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "f" * 32,
           "SLACK_API_URL": slack_api.url, "REDIS_URL": redis_url,
           "TOUCHPOINT_REDIS_PREFIX": redis_prefix}
    first = run("--playbooks", str(folder), "prompt", "--platform", "slack",
                "--channel", "C0GITSCHED", env=env)
    assert (first.returncode, first.stdout) == (0, "posted\n"), first.stderr
    again = run("--playbooks", str(folder), "prompt", "--platform", "slack",
                "--channel", "C0GITSCHED", env=env)
    assert (again.returncode, again.stdout) == (0, "already posted\n"), again.stderr
    (post,) = slack_api.delivered()
    assert post.body["channel"] == "C0GITSCHED" and "Brand promise of the day" in post.body["text"]
    slack_api.fail("chat.postMessage", "channel_not_found")
    gone = run("--playbooks", str(folder), "prompt", "--platform", "slack",
               "--channel", "C0NOWHERE", env=env)
    assert gone.returncode == 1 and gone.stdout.startswith("not posted: the bot cannot post there")
    assert "channel_not_found" in gone.stderr


def test_prompt_needs_the_platforms_credentials(folder: Path) -> None:
    done = run("--playbooks", str(folder), "prompt", "--platform", "slack", "--channel", "C1")
    assert done.returncode == 2 and "posting to Slack needs SLACK_BOT_TOKEN" in done.stderr
    done = run("--playbooks", str(folder), "prompt", "--platform", "teams", "--channel", "19:x")
    assert done.returncode == 2 and "posting to Teams needs MicrosoftAppId" in done.stderr
