"""`touchpoint schedule` and `touchpoint prompt`: the daily prompt from the command line.

`prompt` goes through the very path the scheduler uses (claim, post,
settle), so running it by hand on a day the channel already had its prompt
answers "already posted" instead of posting twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import Sequence

from adapters.outbound import Outbound
from bot.handler import Handler
from bot.messages import PLATFORMS
from bot.playbook_set import PlaybookSet
from bot.routing import slack_team
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store, StoreError
from touchpoint import cli_support
from touchpoint.prompt_delivery import PromptDelivery, Status
from touchpoint.prompt_jobs import Job, prompt_settings, utc_now
from touchpoint.prompt_schedule import FromChat, Schedule, effective_schedule, read_schedule
from touchpoint.settings import Settings

SAID = {
    "posted": "posted",
    "already": "already posted",
    "held": "not posted: another instance is posting it right now",
    "gone": "not posted: the bot cannot post there (see the log); the channel is flagged",
    "failed": "not posted (see the log)",
    "unavailable": "not posted: the store (Redis) is unreachable",
    "retry": "not posted: the platform failed for now (see the log); try again later",
}


async def _read(settings: Settings, from_git: Sequence[Subscription]) -> Schedule:
    from touchpoint.stores import opened_store

    if not settings.uses_redis:
        return effective_schedule(from_git, FromChat())
    async with opened_store(settings) as store:
        return await read_schedule(store, PLATFORMS, from_git, await _teams(settings))


async def _teams(settings: Settings) -> set[str]:
    """The Slack workspaces whose own subscriptions there are, with installs; else none."""
    if settings.slack_install is None:
        return set()
    from touchpoint.slack_installs import opened_installs

    async with opened_installs(settings) as installs:
        return await installs.channels.teams()


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    loaded = cli_support.load_with_schedule(args, settings)
    if loaded is None:
        return 1
    from_git = loaded[1]
    try:
        schedule = asyncio.run(_read(settings, from_git))
    except StoreError as exc:  # show what git says
        print(f"cannot read the subscriptions made in chat ({type(exc).__name__}: {exc}); "
              "showing schedule.yaml only", file=sys.stderr)
        schedule = effective_schedule(from_git, FromChat())
    if not settings.uses_redis:
        print("REDIS_URL is not set: subscriptions made in chat are not shown", file=sys.stderr)
    for problem in schedule.problems:
        print(f"skipping the subscription of {problem}", file=sys.stderr)
    flagged = schedule.flagged
    rows = schedule.next_runs(utc_now())
    if not rows:
        print("no daily prompts scheduled: add playbooks/schedule.yaml, or say "
              "/touchpoint subscribe 09:00 Europe/Berlin in a channel")
        return 0
    for when, sub in rows:
        local = when.astimezone(sub.tz)
        flag = f"  FLAGGED: {flagged[sub.key]}" if sub.key in flagged else ""
        print(f"{local:%a %Y-%m-%d %H:%M} ({when:%H:%M} UTC)  {sub.key}  {sub.describe()}  "
              f"[{sub.source}]{flag}")
    return 0


def _outbound(platform: str, settings: Settings, library: PlaybookSet,
              store: Store) -> Outbound | str:
    if platform == "slack":
        if not settings.slack_bot_token:
            return "posting to Slack needs SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and REDIS_URL)"
        from touchpoint.scheduler import slack_outbound

        return slack_outbound(settings)
    if not settings.microsoft_app_id:
        return "posting to Teams needs MicrosoftAppId and MicrosoftAppPassword"
    from adapters.teams.app import TeamsAdapter
    from adapters.teams.outbound import TeamsOutbound

    return TeamsOutbound(TeamsAdapter(Handler(library, store), settings.teams), store,
                         owns_bot=True)


async def _installed(settings: Settings, stack: contextlib.AsyncExitStack,
                     team: str) -> tuple[Outbound, set[str]] | str:
    """With Slack installs: every workspace's poster (`TeamOutbound`), and the workspaces;
    why not, when `team` is named and Touchpoint is not installed there (a typo must not
    flag the channel)."""
    if not settings.uses_redis:
        return "posting with Slack installs needs REDIS_URL, where the installs are kept"
    from adapters.slack.team_outbound import TeamOutbound
    from adapters.slack.web import API_TIMEOUT
    from touchpoint.slack_installs import opened_installs

    installs = await stack.enter_async_context(opened_installs(settings))
    outbound = TeamOutbound(installs.installations, installs.channels, settings.slack_api_url,
                            timeout=min(API_TIMEOUT, settings.prompt_lease / 2))
    stack.push_async_callback(outbound.close)
    if team:
        poster = await outbound.poster(team)
        if isinstance(poster, str):
            return f"--team: {poster}"
    return outbound, await installs.channels.teams()


async def post_now(settings: Settings, library: PlaybookSet, from_git: Sequence[Subscription],
                   platform: str, channel: str, now: dt.datetime,
                   team: str = "") -> Status | str:
    """Today's prompt for one channel (of Slack workspace `team`, with installs), through the
    scheduler's claim; a str says what's missing."""
    from touchpoint.stores import opened_store

    if team and (platform != "slack" or settings.slack_install is None):
        return ("--team names a Slack workspace when Touchpoint is installed in many "
                "(SLACK_CLIENT_ID); with one token there is only one")
    async with opened_store(settings) as store, contextlib.AsyncExitStack() as stack:
        teams: set[str] = set()
        if platform == "slack" and settings.slack_install is not None:
            found = await _installed(settings, stack, team)
            if isinstance(found, str):
                return found
            outbound, teams = found
        else:
            made = _outbound(platform, settings, library, store)
            if isinstance(made, str):
                return made
            outbound = made
            stack.push_async_callback(outbound.close)
        schedule = await read_schedule(store, (platform,), from_git, teams) \
            if settings.uses_redis else effective_schedule(from_git, FromChat())
        asked = Subscription(platform, channel, now.time(), "UTC", EVERY_DAY,
                             source="touchpoint prompt", team=team)
        found_sub = schedule.prompt_of(asked.key)
        sub = found_sub if found_sub is not None and (not team or found_sub.team == team) \
            else asked
        day = now.astimezone(sub.tz).date()
        delivery = PromptDelivery(store, {platform: outbound}, lambda: library.playbooks,
                                  prompt_settings(settings))
        return await delivery.post(Job(sub, day, now))


def cmd_prompt(args: argparse.Namespace, settings: Settings) -> int:
    loaded = cli_support.load_with_schedule(args, settings)
    if loaded is None:
        return 1
    library, from_git = loaded
    if not settings.uses_redis:
        print("REDIS_URL is not set: this post is not recorded where the servers look, so "
              "they may post today's prompt there too", file=sys.stderr)
    try:
        team = slack_team(args.team)
    except ValueError as exc:
        print(f"--team: {exc}", file=sys.stderr)
        return 2
    outcome = asyncio.run(post_now(settings, library, from_git, args.platform, args.channel,
                                   utc_now(), team))
    if outcome not in SAID:
        print(outcome, file=sys.stderr)
        return 2
    print(SAID[outcome])
    return 0 if outcome in ("posted", "already") else 1


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = sub.add_parser("schedule", help="list the next daily prompt of every channel")
    schedule.set_defaults(run=cmd_schedule)
    prompt = sub.add_parser("prompt", help="post a channel's prompt of the day now (once a day, "
                            "like the scheduler)")
    prompt.add_argument("--platform", choices=PLATFORMS, required=True)
    prompt.add_argument("--channel", required=True, help="channel id (C0123ABCD) or Teams "
                        "conversation id")
    prompt.add_argument("--team", default="", help="with Slack installs: the workspace the "
                        "channel is in (T0123ABCD, or E0123ABCD:T0123ABCD); default: the one "
                        "it was subscribed in, else the one Touchpoint last saw it in")
    prompt.set_defaults(run=cmd_prompt)

