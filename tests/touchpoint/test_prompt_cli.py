"""`touchpoint schedule`, `prompt` and `check` on a schedule, run as subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fakes.slack_api import CLIENT_ID, CLIENT_SECRET, FakeSlackAPI
from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.redis_store import RedisStore
from adapters.slack.installations import InstallationStore, RedisRecords, token_cipher
from adapters.slack.workspaces import ChannelTeams

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-1111-2222-fakefakefake"
TOKENS = {"T0ONE": "xoxb-1-one-fakefakefakefake", "T0TWO": "xoxb-2-two-fakefakefakefake"}
"""The bot tokens of two workspaces Touchpoint is installed in (OAuth)."""
DAILY = '{"time": "06:30", "zone": "UTC", "weekdays": [0, 1, 2, 3, 4, 5, 6], "playbooks": []}'
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


def installs_env(slack_api: FakeSlackAPI, redis_url: str, redis_prefix: str,
                 key: str) -> dict[str, str]:
    """`touchpoint serve`'s environment when it is installed through OAuth in many workspaces."""
    return {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "TOUCHPOINT_TOKEN_KEY": key, "SLACK_SIGNING_SECRET": "f" * 32,
            "SLACK_API_URL": slack_api.url, "REDIS_URL": redis_url,
            "TOUCHPOINT_REDIS_PREFIX": redis_prefix}


async def install_two(redis_url: str, redis_prefix: str, key: str,
                      seen: dict[str, str]) -> None:
    """Both workspaces installed, as the OAuth redirect stores them, and `seen` (channel ->
    workspace) as their first requests record them."""
    async with Redis.from_url(redis_url) as client:
        installations = InstallationStore(RedisRecords(client, redis_prefix), token_cipher(key))
        for team, token in TOKENS.items():
            await installations.async_save(Installation(
                app_id="A0APP", team_id=team, user_id="U0INSTALLER", bot_token=token,
                bot_id=f"B{team}", bot_user_id=f"U{team}BOT"))
        channels = ChannelTeams(client, redis_prefix)
        for channel, team in seen.items():
            await channels.remember(channel, team)


def test_schedule_lists_each_workspaces_own_subscriptions(
        slack_api: FakeSlackAPI, folder: Path, redis_url: str, redis_prefix: str) -> None:
    """A channel shared by two workspaces, subscribed in both, is listed once for each; a
    flag set in one workspace shows on its line alone."""
    key = Fernet.generate_key().decode()

    async def subscribe() -> None:
        await install_two(redis_url, redis_prefix, key,
                          {"C0ONE": "-:T0ONE", "C0SHARED": "-:T0TWO"})
        store = RedisStore.from_url(redis_url, redis_prefix)
        try:
            one, two = store.for_team("-:T0ONE"), store.for_team("-:T0TWO")
            await one.subscribe("slack", "C0ONE", DAILY)
            await one.subscribe("slack", "C0SHARED", DAILY)
            await two.subscribe("slack", "C0SHARED", DAILY.replace("06:30", "07:45"))
            await two.flag("slack", "C0SHARED", "not_in_channel")
        finally:
            await store.close()

    asyncio.run(subscribe())
    done = run("--playbooks", str(folder), "schedule",
               env=installs_env(slack_api, redis_url, redis_prefix, key))
    assert done.returncode == 0, done.stderr
    by_key = {line.split("  ")[1]: line for line in done.stdout.splitlines()}
    assert set(by_key) == {"slack:C0GITSCHED", "teams:19:abc@thread.tacv2",
                           "slack@-:T0ONE:C0ONE", "slack@-:T0ONE:C0SHARED",
                           "slack@-:T0TWO:C0SHARED"}
    assert "06:30 UTC, every day  [chat]" in by_key["slack@-:T0ONE:C0SHARED"]
    assert "FLAGGED" not in by_key["slack@-:T0ONE:C0SHARED"]
    assert by_key["slack@-:T0TWO:C0SHARED"].endswith(
        "07:45 UTC, every day  [chat]  FLAGGED: not_in_channel")
    assert slack_api.calls() == [], "listing asks Slack nothing"


def test_prompt_with_installs_posts_with_the_workspaces_token(
        slack_api: FakeSlackAPI, folder: Path, redis_url: str, redis_prefix: str) -> None:
    """`--team` picks the workspace and its token; without it, the workspace the channel was
    subscribed in; a workspace Touchpoint is not installed in is refused before anything is
    claimed, posted or flagged."""
    key = Fernet.generate_key().decode()

    async def subscribe() -> None:
        await install_two(redis_url, redis_prefix, key,
                          {"C0SHARED": "-:T0ONE", "C0TWOHOME": "-:T0TWO"})
        store = RedisStore.from_url(redis_url, redis_prefix)
        try:
            await store.for_team("-:T0TWO").subscribe("slack", "C0TWOSUB", DAILY)
        finally:
            await store.close()

    asyncio.run(subscribe())
    env = installs_env(slack_api, redis_url, redis_prefix, key)

    def prompt(channel: str, *team: str) -> subprocess.CompletedProcess[str]:
        return run("--playbooks", str(folder), "prompt", "--platform", "slack",
                   "--channel", channel, *team, env=env)

    for team in ("T0ONE", "T0TWO"):
        done = prompt("C0SHARED", "--team", team)
        assert (done.returncode, done.stdout) == (0, "posted\n"), done.stderr
    again = prompt("C0SHARED", "--team", "T0TWO")
    assert (again.returncode, again.stdout) == (0, "already posted\n"), again.stderr
    subscribed = prompt("C0TWOSUB")
    assert (subscribed.returncode, subscribed.stdout) == (0, "posted\n"), subscribed.stderr
    sent = [(c.body["channel"], c.headers.get("Authorization")) for c in slack_api.delivered()]
    assert sent == [("C0SHARED", f"Bearer {TOKENS['T0ONE']}"),
                    ("C0SHARED", f"Bearer {TOKENS['T0TWO']}"),
                    ("C0TWOSUB", f"Bearer {TOKENS['T0TWO']}")]

    unknown = prompt("C0SHARED", "--team", "T0NOPE")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert "--team: Touchpoint is not installed in workspace -:T0NOPE" in unknown.stderr
    malformed = prompt("C0SHARED", "--team", "general")
    assert malformed.returncode == 2 and "--team: must be a Slack workspace id" in \
        malformed.stderr
    assert len(slack_api.delivered()) == 3

    async def flags() -> dict[str, str]:
        store = RedisStore.from_url(redis_url, redis_prefix)
        try:
            return await store.for_team("-:T0NOPE").flagged("slack") | await store.flagged(
                "slack")
        finally:
            await store.close()

    assert asyncio.run(flags()) == {}


def test_prompt_refuses_a_team_with_one_token(slack_api: FakeSlackAPI, folder: Path) -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "f" * 32,
           "SLACK_API_URL": slack_api.url}
    done = run("--playbooks", str(folder), "prompt", "--platform", "slack", "--channel",
               "C0GITSCHED", "--team", "T0ONE", env=env)
    assert done.returncode == 2 and "--team names a Slack workspace when Touchpoint is " \
        "installed in many" in done.stderr
    assert slack_api.delivered() == []
