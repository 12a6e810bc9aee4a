"""`touchpoint schedule` and `touchpoint prompt`: the daily prompt from the command line.

`prompt` goes through the very path the scheduler uses (claim, post,
settle), so running it by hand on a day the channel already had its prompt
answers "already posted" instead of posting twice.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence

from adapters.outbound import Outbound
from bot.handler import Handler
from bot.messages import PLATFORMS
from bot.playbook_set import PlaybookSet
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
        return await read_schedule(store, PLATFORMS, from_git)


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
            return "posting to Slack needs SLACK_BOT_TOKEN"
        from touchpoint.scheduler import slack_outbound

        return slack_outbound(settings)
    if not settings.microsoft_app_id:
        return "posting to Teams needs MicrosoftAppId and MicrosoftAppPassword"
    from adapters.teams.app import TeamsAdapter
    from adapters.teams.outbound import TeamsOutbound

    return TeamsOutbound(TeamsAdapter(Handler(library, store), settings.teams), store,
                         owns_bot=True)


async def post_now(settings: Settings, library: PlaybookSet, from_git: Sequence[Subscription],
                   platform: str, channel: str, now: dt.datetime) -> Status | str:
    """Today's prompt for one channel, through the scheduler's claim; a str says what's missing."""
    from touchpoint.stores import opened_store

    async with opened_store(settings) as store:
        outbound = _outbound(platform, settings, library, store)
        if isinstance(outbound, str):
            return outbound
        try:
            schedule = await read_schedule(store, (platform,), from_git) \
                if settings.uses_redis else effective_schedule(from_git, FromChat())
            sub = schedule.prompt_of(f"{platform}:{channel}") or Subscription(
                platform, channel, now.time(), "UTC", EVERY_DAY, source="touchpoint prompt")
            day = now.astimezone(sub.tz).date()
            delivery = PromptDelivery(store, {platform: outbound}, lambda: library.playbooks,
                                      prompt_settings(settings))
            return await delivery.post(Job(sub, day, now))
        finally:
            await outbound.close()


def cmd_prompt(args: argparse.Namespace, settings: Settings) -> int:
    loaded = cli_support.load_with_schedule(args, settings)
    if loaded is None:
        return 1
    library, from_git = loaded
    if not settings.uses_redis:
        print("REDIS_URL is not set: this post is not recorded where the servers look, so "
              "they may post today's prompt there too", file=sys.stderr)
    outcome = asyncio.run(post_now(settings, library, from_git, args.platform, args.channel,
                                   utc_now()))
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
    prompt.set_defaults(run=cmd_prompt)

