"""The daily prompt on `touchpoint serve`: when to look at what is due, and queueing it.

Every instance schedules every channel. `bot.schedule` alone decides when a
channel's next post is, daylight-saving changes included; APScheduler (3.x,
on the asyncio loop) only gets a one-off job at each distinct next run
instant, which queues the channels due then and arms the runs after it. So
a local time repeated when the clocks go back fires once, and one skipped
when they go forward fires once, an hour later by the wall clock, as
`Subscription.run_on` says. A refresh every minute re-reads the effective
schedule (`prompt_schedule`), arms any run it now needs, and queues whatever
is due and not yet posted, which is also how a run missed while every
instance was down is caught up within the grace period. The store's claims
make sure only one instance posts to each channel each day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from apscheduler.job import Job as ArmedRun
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from adapters.outbound import Outbound, teams_of
from bot.playbooks import Playbook
from bot.schedule import Subscription
from bot.store import Store, StoreError
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import PromptSettings, WallClock, due_jobs, prompt_settings, utc_now
from touchpoint.prompt_queue import PromptQueue
from touchpoint.prompt_schedule import (
    FromChat,
    GitSchedule,
    Schedule,
    effective_schedule,
    read_chat,
    with_named_teams,
)
from touchpoint.settings import Settings

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("touchpoint.prompts")

REFRESH = 60.0
"""Seconds between two reads of subscriptions, schedule.yaml and flags (and catch-ups)."""
REFRESH_JOB = "refresh"

# APScheduler logs every job run at INFO: a line a minute that says nothing. Its warnings
# (a job that raised, a missed run) still show.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run_id(at: dt.datetime) -> str:
    """The APScheduler job of one run instant, shared by every channel due then."""
    return f"run {at.astimezone(dt.UTC).isoformat()}"


def next_run_instants(subscriptions: Sequence[Subscription], after: dt.datetime,
                      ) -> set[dt.datetime]:
    """The distinct instants at which some channel's next post comes after `after`.

    Computed once per local time, zone and weekdays (all a next run depends on), as
    thousands of channels share a handful of those and this runs every minute.
    """
    shapes = {(sub.at, sub.zone, sub.weekdays): sub for sub in subscriptions}
    return {sub.next_run(after)[1] for sub in shapes.values()}


class PromptScheduler:
    """One instance's share of the daily prompts: its APScheduler, its queue."""

    def __init__(self, store: Store, outbounds: Mapping[str, Outbound],
                 playbooks: Callable[[], Sequence[Playbook]], folder: Callable[[], Path],
                 settings: PromptSettings, clock: WallClock = utc_now,
                 observe: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.outbounds = outbounds
        self.settings = settings
        self.delivery = PromptDelivery(store, outbounds, playbooks, settings)
        self.queue = PromptQueue(self.delivery, clock, observe)
        self.schedule = Schedule()
        """The effective schedule of the platforms this server posts to, as last read."""
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._git = GitSchedule(folder, playbooks)
        self._chat = FromChat()
        self._teams: set[str] = set()
        """The Slack workspaces whose own subscriptions are read, as last read."""
        self._fired: dt.datetime | None = None
        """The latest run instant that fired: never armed again, whatever the clock says."""

    @property
    def subscriptions(self) -> list[Subscription]:
        return self.schedule.subscriptions

    async def start(self) -> None:
        self.queue.start()
        self._scheduler.start()
        self._scheduler.add_job(self.refresh, IntervalTrigger(seconds=REFRESH), id=REFRESH_JOB,
                                max_instances=1, coalesce=True)
        await self.refresh()
        log.info("prompts: %d channels scheduled on %s (grace %g s, %g posts/s)",
                 len(self.subscriptions), ", ".join(sorted(self.outbounds)) or "no platform",
                 self.settings.grace, self.settings.rate)

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        await self.queue.stop()

    async def refresh(self) -> None:
        """Re-read who gets a prompt, arm the runs that needs, and queue what is due."""
        from_git = await self._git.read()
        try:
            self._teams = await teams_of(self.outbounds.get("slack"))
        except Exception as exc:  # any backend of the workspace list: keep the last read
            log.warning("prompts: cannot read the Slack workspaces (%s: %s); using the last "
                        "ones read", type(exc).__name__, exc)
        try:
            chat = await read_chat(self.store, sorted(self.outbounds),
                                   with_named_teams(self._teams, from_git))
        except StoreError as exc:  # keep the last good read
            log.warning("prompts: cannot read subscriptions (%s: %s); using the last ones read",
                        type(exc).__name__, exc)
            chat = self._chat
        for problem in sorted(set(chat.problems) - set(self._chat.problems)):
            log.warning("prompts: skipping the subscription of %s", problem)
        self._chat = chat
        everything = effective_schedule(from_git, chat)
        off = sorted({s.platform for s in everything.subscriptions} - set(self.outbounds))
        if off:
            log.debug("prompts: %s off here; not scheduling their channels", ", ".join(off))
        self.schedule = everything.on(self.outbounds)
        self.arm(self._clock())
        await self.sweep()

    async def sweep(self) -> None:
        jobs = due_jobs(self.subscriptions, self._clock(), self.settings.grace,
                        self.schedule.flagged)
        added = self.queue.add(jobs)
        if added:
            log.info("prompts: %d channels due", added)

    def armed(self) -> list[ArmedRun]:
        """APScheduler's one-off jobs of the run instants armed now."""
        return [job for job in self._scheduler.get_jobs() if job.id != REFRESH_JOB]

    def arm(self, now: dt.datetime) -> None:
        """One APScheduler job per distinct next run after `now`; runs no longer needed go."""
        after = max(now, self._fired) if self._fired is not None else now
        wanted = {run_id(at): at for at in next_run_instants(self.subscriptions, after)}
        have = {job.id for job in self.armed()}
        for stale in have - wanted.keys():
            try:
                self._scheduler.remove_job(stale)
            except JobLookupError:  # it fired meanwhile
                pass
        for new in wanted.keys() - have:
            self._scheduler.add_job(self.run, DateTrigger(run_date=wanted[new]),
                                    args=[wanted[new]], id=new, coalesce=True,
                                    replace_existing=True,
                                    misfire_grace_time=max(1, int(self.settings.grace)))

    async def run(self, at: dt.datetime) -> None:
        """A run instant came: queue what is due, and arm the runs after it."""
        self._fired = at if self._fired is None else max(self._fired, at)
        await self.sweep()
        self.arm(self._clock())


def slack_outbound(settings: Settings, client: AsyncWebClient | None = None) -> Outbound:
    """The Slack poster of the daily prompts (needs `slack_bot_token`): the server's, over
    the Slack adapter's `client`, and `touchpoint prompt`'s, over a client of its own."""
    from adapters.slack.outbound import SlackOutbound
    from adapters.slack.web import API_TIMEOUT, web_client

    # A request must never outlive the claim it is made under.
    timeout = min(API_TIMEOUT, settings.prompt_lease / 2)
    if client is not None:
        return SlackOutbound(client, timeout=timeout)
    return SlackOutbound(web_client(settings.slack_bot_token, settings.slack_api_url),
                         timeout=timeout, owns_client=True)


SCHEDULER_KEY: web.AppKey[PromptScheduler] = web.AppKey("prompts", PromptScheduler)


def attach(app: web.Application, store: Store, outbounds: Mapping[str, Outbound],
           playbooks: Callable[[], Sequence[Playbook]], folder: Callable[[], Path],
           settings: Settings, observe: Callable[[str], None] | None = None) -> PromptScheduler:
    """Run the daily prompts with the app: after the platforms start, before they stop."""
    scheduler = PromptScheduler(store, outbounds, playbooks, folder, prompt_settings(settings),
                                observe=observe)
    app[SCHEDULER_KEY] = scheduler

    async def lifespan(_: web.Application) -> AsyncIterator[None]:
        await scheduler.start()
        yield
        await scheduler.stop()

    app.cleanup_ctx.append(lifespan)
    return scheduler
