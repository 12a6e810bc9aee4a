"""The daily prompt on `touchpoint serve`: APScheduler fires, the fan-out posts.

Every instance schedules every channel. APScheduler (3.x, on the asyncio
loop) gets one cron job per distinct time, zone and weekdays, which queues
the channels due then; a refresh every minute re-reads the chat
subscriptions (made on any instance), `schedule.yaml` (parsed again, off
the event loop, only when it or the playbooks changed) and the flags, and
queues whatever is due and not yet posted, which is also how a run missed
while every instance was down is caught up within the grace period. The
store's claims make sure only one instance posts to each channel each day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from adapters.outbound import Outbound
from bot.playbooks import Playbook, PlaybookErrors
from bot.schedule import DAY_NAMES, Subscription, merge
from bot.store import Store, StoreError
from touchpoint.fanout import (
    FINAL,
    FanoutSettings,
    Job,
    Poster,
    WallClock,
    chat_subscriptions,
    digest_subscriptions,
    due_jobs,
    fanout_settings,
    flagged_keys,
    utc_now,
)
from touchpoint.loader import SCHEDULE, load_schedule
from touchpoint.settings import Settings

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("touchpoint.prompts")

REFRESH = 60.0
"""Seconds between two reads of subscriptions, schedule.yaml and flags (and catch-ups)."""

# APScheduler logs every job run at INFO: a line a minute that says nothing. Its warnings
# (a job that raised, a missed run) still show.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


class Fanout:
    """This instance's queue of due posts, worked by a few tasks until each is final.

    Posts another instance holds, or that the store could not decide, wait a
    little and go round again; a post not final by the end of its day (or of
    its grace period, if that is later) is logged as missed.
    """

    def __init__(self, poster: Poster, clock: WallClock = utc_now,
                 observe: Callable[[str], None] | None = None) -> None:
        self.poster = poster
        self._observe = observe
        """Told each channel's final status (posted, already, gone, failed, missed): metrics."""
        self.settings = poster.settings
        self._clock = clock
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._pending: dict[str, Job] = {}
        self._tries: Counter[str] = Counter()
        self._finished: dict[str, dt.datetime] = {}
        self._tally: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, jobs: Iterable[Job]) -> int:
        """Queue the jobs not already queued or done here; returns how many were new."""
        now = self._clock()
        self._finished = {k: d for k, d in self._finished.items() if d >= now}
        fresh = [j for j in jobs if j.key not in self._pending and j.key not in self._finished]
        random.shuffle(fresh)  # instances start at different channels and rarely collide
        for job in fresh:
            self._pending[job.key] = job
            self._queue.put_nowait(job)
        if fresh:
            self._idle.clear()
        return len(fresh)

    def start(self) -> None:
        for _ in range(self.settings.workers):
            self._spawn(self._work())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._attempt(job)
            except Exception:  # a bug must not stop the other channels' posts
                log.exception("prompts: unexpected failure posting to %s", job.sub.key)
                self._finish(job, "failed")

    async def _attempt(self, job: Job) -> None:
        if self._clock() > job.deadline(self.settings.grace):
            log.error("prompts: missed %s for %s: not posted by the end of the day",
                      job.sub.key, job.day)
            self._finish(job, "missed")
            return
        status = await self.poster.post(job)
        if status in FINAL:
            self._finish(job, status)
            return
        self._tries[job.key] += 1
        delay = self.settings.retry_delay
        if status == "unavailable":
            delay = min(30.0, delay * 2 ** min(self._tries[job.key] - 1, 6))
        self._spawn(self._later(job, delay * random.uniform(0.75, 1.25)))

    async def _later(self, job: Job, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait(job)

    def _finish(self, job: Job, status: str) -> None:
        self._pending.pop(job.key, None)
        self._tries.pop(job.key, None)
        self._finished[job.key] = job.deadline(self.settings.grace)
        self._tally[status] += 1
        if self._observe is not None:
            self._observe(status)
        if not self._pending:
            tally, self._tally = self._tally, Counter()
            log.info("prompts: run done: %d posted here, %d by other instances, %d flagged, "
                     "%d failed, %d missed", tally["posted"], tally["already"], tally["gone"],
                     tally["failed"], tally["missed"])
            self._idle.set()


def slot_of(sub: Subscription) -> str:
    days = ",".join(DAY_NAMES[d] for d in sub.weekdays)
    kind = "digest" if sub.digest else "prompt"
    return f"{kind} {sub.at.isoformat()} {sub.zone} {days}"


class PromptScheduler:
    """One instance's share of the daily prompts: its APScheduler, its fan-out."""

    def __init__(self, store: Store, outbounds: Mapping[str, Outbound],
                 playbooks: Callable[[], Sequence[Playbook]], folder: Callable[[], Path],
                 settings: FanoutSettings, clock: WallClock = utc_now,
                 observe: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.outbounds = outbounds
        self.settings = settings
        self.poster = Poster(store, outbounds, playbooks, settings)
        self.fanout = Fanout(self.poster, clock, observe)
        self.subscriptions: list[Subscription] = []
        self._playbooks = playbooks
        self._folder = folder
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._from_git: list[Subscription] = []
        self._git_problem = ""
        self._git_read: tuple[Path, tuple[int, int] | None, tuple[str, ...]] | None = None
        """What the last read of schedule.yaml saw: folder, (mtime_ns, size), playbook ids."""
        self._from_chat: list[Subscription] = []
        self._digests: list[Subscription] = []
        self._flagged: set[str] = set()

    async def start(self) -> None:
        self.fanout.start()
        self._scheduler.start()
        self._scheduler.add_job(self.refresh, IntervalTrigger(seconds=REFRESH), id="refresh",
                                max_instances=1, coalesce=True)
        await self.refresh()
        log.info("prompts: %d channels scheduled on %s (grace %g s, %g posts/s)",
                 len(self.subscriptions), ", ".join(sorted(self.outbounds)) or "no platform",
                 self.settings.grace, self.settings.rate)

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        await self.fanout.stop()

    async def refresh(self) -> None:
        """Re-read who gets a prompt, adjust the cron jobs, and queue what is due."""
        await self._read_git()
        platforms = sorted(self.outbounds)
        try:
            self._from_chat = await chat_subscriptions(self.store, platforms)
            self._digests = await digest_subscriptions(self.store, platforms)
            self._flagged = set(await flagged_keys(self.store, platforms))
        except StoreError as exc:  # keep the last good read
            log.warning("prompts: cannot read subscriptions (%s: %s); using the last ones read",
                        type(exc).__name__, exc)
        everything = merge(self._from_git, self._from_chat) + self._digests
        off = sorted({s.platform for s in everything} - set(self.outbounds))
        if off:
            log.debug("prompts: %s off here; not scheduling their channels", ", ".join(off))
        self.subscriptions = [s for s in everything if s.platform in self.outbounds]
        self._reconcile()
        await self.sweep()

    async def sweep(self) -> None:
        jobs = due_jobs(self.subscriptions, self._clock(), self.settings.grace, self._flagged)
        added = self.fanout.add(jobs)
        if added:
            log.info("prompts: %d channels due", added)

    async def _read_git(self) -> None:
        """Parse schedule.yaml again, in a thread, only if it or the playbook ids changed."""
        folder = self._folder()
        ids = tuple(p.id for p in self._playbooks())
        try:
            stat = (folder / SCHEDULE).stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        seen = (folder, stamp, ids)
        if seen == self._git_read:
            return
        try:
            self._from_git = await asyncio.to_thread(load_schedule, folder, ids)
            self._git_problem = ""
        except PlaybookErrors as exc:
            problem = str(exc)
            if problem != self._git_problem:
                log.error("prompts: schedule.yaml is invalid; keeping the last valid one:\n%s",
                          problem)
            self._git_problem = problem
        self._git_read = seen

    def _reconcile(self) -> None:
        wanted = {slot_of(s): s for s in self.subscriptions}
        have = {job.id for job in self._scheduler.get_jobs() if job.id != "refresh"}
        for slot in have - wanted.keys():
            self._scheduler.remove_job(slot)
        for slot in wanted.keys() - have:
            sub = wanted[slot]
            trigger = CronTrigger(hour=sub.at.hour, minute=sub.at.minute, second=sub.at.second,
                                  day_of_week=",".join(DAY_NAMES[d] for d in sub.weekdays),
                                  timezone=sub.tz)
            self._scheduler.add_job(self.sweep, trigger, id=slot, coalesce=True,
                                    misfire_grace_time=max(1, int(self.settings.grace)))


def slack_outbound(settings: Settings, client: AsyncWebClient | None = None) -> Outbound:
    """The Slack poster of the daily prompts (needs `slack_bot_token`): the server's, over
    the Slack adapter's `client`, and `touchpoint prompt`'s, over a client of its own."""
    from adapters.slack_outbound import SlackOutbound
    from adapters.slack_web import API_TIMEOUT, web_client

    # A request must never outlive the claim it is made under.
    timeout = min(API_TIMEOUT, settings.prompt_lease / 2)
    if client is not None:
        return SlackOutbound(client, timeout=timeout)
    return SlackOutbound(web_client(settings.slack_bot_token, settings.slack_api_url),
                         timeout=timeout, owns_client=True)


def outbounds_for(app: web.Application, settings: Settings, store: Store) -> dict[str, Outbound]:
    """A poster per platform this server talks to (after the platforms are attached to `app`),
    closed with the app."""
    from adapters.slack import SLACK_KEY
    from adapters.teams import TEAMS_KEY

    found: dict[str, Outbound] = {}
    adapter = app.get(SLACK_KEY)
    if adapter is not None:
        found["slack"] = slack_outbound(settings, adapter.client)
    elif settings.slack_bot_token:
        found["slack"] = slack_outbound(settings)
    bot = app.get(TEAMS_KEY)
    if bot is not None:
        from adapters.teams_outbound import TeamsOutbound

        found["teams"] = TeamsOutbound(bot, store)

    async def close(_: web.Application) -> None:
        for outbound in found.values():
            await outbound.close()

    app.on_cleanup.append(close)
    return found


SCHEDULER_KEY: web.AppKey[PromptScheduler] = web.AppKey("prompts", PromptScheduler)


def attach(app: web.Application, store: Store, outbounds: Mapping[str, Outbound],
           playbooks: Callable[[], Sequence[Playbook]], folder: Callable[[], Path],
           settings: Settings, observe: Callable[[str], None] | None = None) -> PromptScheduler:
    """Run the daily prompts with the app: after the platforms start, before they stop."""
    scheduler = PromptScheduler(store, outbounds, playbooks, folder, fanout_settings(settings),
                                observe=observe)
    app[SCHEDULER_KEY] = scheduler

    async def start(_: web.Application) -> None:
        await scheduler.start()

    async def stop(_: web.Application) -> None:
        await scheduler.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return scheduler
