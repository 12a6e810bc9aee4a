"""Posting the prompt of the day to many channels: once each, paced, retried within bounds.

Every instance runs the same fan-out over the same channels; the store decides
who posts where. Per channel and day: claim (a lease that lapses if this
instance dies) -> post -> settle (the outcome, kept for days). A claim that
finds an earlier, unsettled attempt first asks the platform whether that
attempt's post got through, so an instance killed between posting and
settling does not make the next one post twice. A post is only sent while
the lease is confirmed ours, so while the store is unreachable nothing is
posted and the channel is tried again, within the grace period, once it is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from adapters.outbound import Outbound, Result
from bot.channels import digest_space
from bot.digest import build_digest, digest_week
from bot.memory_store import MemoryStore
from bot.messages import Reply
from bot.playbooks import Playbook
from bot.prompts import prompt_pool, prompt_reply, rotation
from bot.schedule import Subscription, merge
from bot.store import Store, StoreError
from touchpoint.settings import Settings

log = logging.getLogger("touchpoint.prompts")

Status = Literal["posted", "already", "held", "gone", "failed", "unavailable", "retry"]
FINAL = frozenset({"posted", "already", "gone", "failed"})
RESLOTS = 3
"""Shared slots a post may give up because this process woke too late for them."""
Sleep = Callable[[float], Awaitable[None]]
WallClock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FanoutSettings:
    rate: float = 4.0
    """Posts per second to one platform (a Slack workspace), shared by every instance."""
    channel_interval: float = 1.0
    """Least seconds between two posts to one channel (Slack allows about one a second)."""
    lease: float = 60.0
    """Seconds a claim holds a channel before another instance may take over."""
    grace: float = 7200.0
    """Seconds after the scheduled time within which a missed post is still made."""
    attempts: int = 3
    """Tries within one claim for a transient failure (429, 5xx, network)."""
    max_claims: int = 5
    """Claims of one channel and day, across instances, before giving up for the day."""
    max_wait: float = 120.0
    """The longest Retry-After waited out within a claim; longer ones come back later."""
    workers: int = 8
    """Posts one instance has in flight at once (`fanout_settings` gives more at high rates)."""
    longest_wait: float = 600.0
    """The furthest away a platform's next slot can be: a Retry-After waited out
    (`max_wait`) and the slots every instance booked meanwhile. A slot further away in
    the store was booked by no instance (a damaged key): it is started over, not waited
    for, so one bad value cannot hold the day's prompts back."""

    @property
    def keep(self) -> float:
        """How long a day's outcome is remembered: past any catch-up of that day."""
        return self.grace + 2 * 86400

    @property
    def retry_delay(self) -> float:
        """Seconds before a channel another instance holds is looked at again: it is most
        likely being posted right now, and a look is one store round trip."""
        return max(0.05, min(1.0, self.lease / 4))


@dataclass(frozen=True)
class Job:
    """One channel's post for one scheduled day."""

    sub: Subscription
    day: dt.date
    due: dt.datetime

    @property
    def key(self) -> str:
        kind = "digest" if self.sub.digest else "post"
        return f"{kind}:{self.sub.key}:{self.day.isoformat()}"

    def deadline(self, grace: float) -> dt.datetime:
        """When a queued post is given up: the end of its grace period or of its local day,
        whichever is later, so a long fan-out is not cut short by its own length."""
        end_of_day = dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time(0),
                                         tzinfo=self.sub.tz)
        return max(self.due + dt.timedelta(seconds=grace), end_of_day)

    def since(self) -> float:
        """The start of the day in the channel's zone: no earlier attempt posted before."""
        return dt.datetime.combine(self.day, dt.time(0), tzinfo=self.sub.tz).timestamp()


def due_jobs(subscriptions: Iterable[Subscription], now: dt.datetime, grace: float,
             flagged: Iterable[str] = ()) -> list[Job]:
    """The posts whose time has come and whose grace period has not run out."""
    skip = set(flagged)
    jobs = []
    for sub in subscriptions:
        if sub.key in skip:
            continue
        last = sub.last_run(now)
        if last is not None and (now - last[1]).total_seconds() <= grace:
            jobs.append(Job(sub, *last))
    return jobs


WORKER_AHEAD = 0.25
"""Seconds of the shared rate one instance's workers can hold booked at once. Each worker
goes through a claim, a pick, a booking, the post and a settle between two slots; with
fewer workers than the slots in that time, a slow moment leaves a slot nobody takes,
and a slot not taken is time the run never gets back."""


def fanout_settings(settings: Settings) -> FanoutSettings:
    workers = max(FanoutSettings.workers, math.ceil(settings.prompt_rate * WORKER_AHEAD))
    return FanoutSettings(rate=settings.prompt_rate, lease=settings.prompt_lease,
                          grace=settings.prompt_grace, workers=workers)


def next_runs(from_git: Sequence[Subscription], from_chat: Sequence[Subscription],
              now: dt.datetime) -> list[tuple[dt.datetime, Subscription]]:
    """Every channel's next prompt (schedule.yaml merged with chat), soonest first."""
    runs = [(sub.next_run(now)[1], sub) for sub in merge(from_git, from_chat)]
    return sorted(runs, key=lambda run: (run[0], run[1].key))


async def chat_subscriptions(store: Store, platforms: Sequence[str],
                             problems: list[str] | None = None) -> list[Subscription]:
    """Every subscription made in chat. A damaged one is skipped: logged, or with `problems`
    described there instead (`platform:channel: why`)."""
    found = []
    for platform in platforms:
        for channel, spec in (await store.subscriptions(platform)).items():
            try:
                found.append(Subscription.from_json(platform, channel, spec))
            except ValueError as exc:
                if problems is not None:
                    problems.append(f"{platform}:{channel}: {exc}")
                else:
                    log.warning("prompts: skipping the subscription of %s:%s (%s)",
                                platform, channel, exc)
    return found


async def digest_subscriptions(store: Store, platforms: Sequence[str]) -> list[Subscription]:
    """Every weekly digest asked for in chat; a damaged one is skipped and logged."""
    found = []
    for platform in platforms:
        for channel, spec in (await store.subscriptions(digest_space(platform))).items():
            try:
                sub = Subscription.from_json(platform, channel, spec)
            except ValueError as exc:
                log.warning("prompts: skipping the digest of %s:%s (%s)", platform, channel, exc)
                continue
            found.append(dataclasses.replace(sub, digest=True))
    return found


async def flagged_keys(store: Store, platforms: Sequence[str]) -> dict[str, str]:
    """The channels flagged as unreachable, as `platform:channel` (a `Subscription.key`),
    each with why."""
    return {f"{platform}:{channel}": why for platform in platforms
            for channel, why in (await store.flagged(platform)).items()}


class Pacer:
    """A platform's rate shared by all instances (through the store), and each channel's.

    Only the instance holding a channel's claim posts there, so the channel
    interval can be kept in this process. When the store is unreachable the
    platform's rate is kept per instance instead.
    """

    def __init__(self, store: Store, rate: float, channel_interval: float,
                 clock: Callable[[], float] = time.monotonic, *,
                 longest: float = FanoutSettings.longest_wait) -> None:
        self._store = store
        self._interval = 1.0 / rate
        self._channel_interval = channel_interval
        self._local = MemoryStore(clock=clock)
        self._longest = longest

    async def channel_slot(self, platform: str, channel: str) -> float:
        """Seconds to wait before the next post to `channel` may go out."""
        return await self._local.reserve(f"{platform}:{channel}", self._channel_interval)

    async def shared_slot(self, platform: str) -> float:
        """Seconds to wait for the next of the platform's slots, shared by all instances."""
        return await self._reserve(f"rate:{platform}", self._interval)

    @property
    def tolerance(self) -> float:
        """How late a slot may be taken: later, it would go out bunched with the next ones."""
        return max(0.01, 2 * self._interval)

    async def pause(self, platform: str, channel: str, seconds: float, *, shared: bool) -> None:
        """No post to the channel, and with `shared` to the platform, for `seconds`."""
        if shared:
            await self._reserve(f"rate:{platform}", 0.0, seconds)
        await self._local.reserve(f"{platform}:{channel}", 0.0, seconds)

    async def _reserve(self, key: str, interval: float, after: float = 0.0) -> float:
        try:
            wait = await self._store.reserve(key, interval, after, self._longest)
        except StoreError:  # pace this instance alone
            return await self._local.reserve(key, interval, after)
        if wait > self._longest:  # a store that does not repair its keys: still no stall
            log.warning("prompts: the store asked for a wait of %.0f s for %s, more than the "
                        "%g s any instance books; pacing this instance alone", wait, key,
                        self._longest)
            return await self._local.reserve(key, interval, after)
        return wait


class Poster:
    """The one idempotent path to a channel's prompt of the day (scheduler and CLI alike)."""

    def __init__(self, store: Store, outbounds: Mapping[str, Outbound],
                 playbooks: Callable[[], Sequence[Playbook]], settings: FanoutSettings,
                 *, pacer: Pacer | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.outbounds = outbounds
        self.settings = settings
        self._playbooks = playbooks
        self._pacer = pacer or Pacer(store, settings.rate, settings.channel_interval,
                                     longest=settings.longest_wait)
        self._sleep = sleep

    async def post(self, job: Job) -> Status:
        settings, sub = self.settings, job.sub
        outbound = self.outbounds.get(sub.platform)
        if outbound is None:
            log.error("prompts: %s is off here; cannot post to %s", sub.platform, sub.channel)
            return "failed"
        token = uuid.uuid4().hex
        try:
            claim = await self.store.claim(job.key, token, settings.lease, settings.keep)
        except StoreError as exc:  # no claim, no post
            log.debug("prompts: cannot claim %s (%s)", job.key, exc)
            return "unavailable"
        if claim.state == "settled":
            return "already"
        if claim.state == "held":
            return "held"
        if claim.attempt > settings.max_claims:
            log.error("prompts: %s still not posted after %d attempts; giving up for %s",
                      sub.key, settings.max_claims, job.day)
            await self._settle(job, "failed")
            return "failed"
        try:
            reply = await self._reply(job)
        except StoreError as exc:
            log.debug("prompts: cannot pick the prompt for %s (%s)", job.key, exc)
            await self._release(job, token)
            return "unavailable"
        if reply is None:
            log.error("prompts: no prompts to post to %s (playbooks %s)", sub.key,
                      ", ".join(sub.playbooks) or "all")
            await self._settle(job, "failed")
            return "failed"
        if claim.attempt > 1:
            landed = await outbound.find(sub.channel, job.key, job.since())
            if landed is None:
                await self._release(job, token)
                return "retry"
            if landed:
                log.info("prompts: an earlier attempt had posted to %s; recording it", sub.key)
                await self._settle(job, "posted")
                return "already"
        return await self._deliver(job, token, outbound, reply)

    async def _deliver(self, job: Job, token: str, outbound: Outbound, reply: Reply) -> Status:
        settings, sub = self.settings, job.sub
        result = Result("retry", "not tried")
        for attempt in range(1, settings.attempts + 1):
            try:
                if not await self._take_turn(job, token):
                    return "held"
            except StoreError as exc:  # cannot confirm the lease: do not post
                log.debug("prompts: cannot renew %s (%s)", job.key, exc)
                return "unavailable"
            result = await outbound.send(sub.channel, reply, job.key)
            if result.outcome == "posted":
                await self._settle(job, "posted")
                return "posted"
            if result.outcome == "gone":
                log.warning("prompts: cannot post to %s (%s); flagging it, no more prompts "
                            "there until it is subscribed again or the bot is added back",
                            sub.key, result.reason)
                await self._flag(sub, result.reason)
                await self._settle(job, "gone")
                return "gone"
            if result.outcome == "failed":
                log.error("prompts: posting to %s failed: %s", sub.key, result.reason)
                await self._release(job, token)
                return "failed"
            delay = result.retry_after if result.retry_after is not None \
                else settings.channel_interval * 2 ** attempt
            if delay > settings.max_wait or attempt == settings.attempts:
                break
            log.warning("prompts: posting to %s: %s; retry %d in %.1f s", sub.key,
                        result.reason, attempt, delay)
            await self._pacer.pause(sub.platform, sub.channel, delay,
                                    shared=result.retry_after is not None)
        log.warning("prompts: posting to %s: %s; trying again later", sub.key, result.reason)
        await self._release(job, token)
        return "retry"

    async def _take_turn(self, job: Job, token: str) -> bool:
        """Wait for the channel's and then the platform's next slot, holding the lease.

        The lease is renewed for the wait and a lease beyond it before sleeping,
        so the post goes out the moment the slot comes, with no store round trip
        in between to bunch it with the next ones; the round trips before the sleep
        come out of the wait. A shared slot this process woke up too late for (it
        stalled) is traded for a new one: taken late it would go out bunched with
        the slots after it, and the 429 that earns costs every instance a whole
        second. False when the lease is no longer ours.
        """
        settings, sub = self.settings, job.sub
        await self._sleep(await self._pacer.channel_slot(sub.platform, sub.channel))
        for _ in range(RESLOTS + 1):
            asked = time.monotonic()
            wait = await self._pacer.shared_slot(sub.platform)
            if not await self.store.renew(job.key, token, wait + settings.lease):
                return False
            slot = asked + wait
            await self._sleep(max(0.0, slot - time.monotonic()))
            if time.monotonic() - slot <= self._pacer.tolerance:
                break
        return True

    async def _reply(self, job: Job) -> Reply | None:
        if job.sub.digest:
            titles = {p.id: p.title for p in self._playbooks()}
            return await build_digest(self.store, digest_week(job.day), titles)
        pool = rotation(job.sub.key, prompt_pool(self._playbooks(), job.sub.playbooks))
        if not pool:
            return None
        chosen = await self.store.pick_prompt(job.sub.key, job.day.isoformat(),
                                              [p.id for p in pool])
        return prompt_reply(next(p for p in pool if p.id == chosen))

    async def _settle(self, job: Job, outcome: str) -> None:
        """Record the outcome; a post already made must not be lost to a store outage.

        Retried for as long as the lease would have held the channel: until then
        no other instance can take it over and post again.
        """
        deadline = time.monotonic() + self.settings.lease
        delay = 0.05
        while True:
            try:
                await self.store.settle(job.key, outcome, self.settings.keep)
                return
            except StoreError as exc:
                if time.monotonic() + delay > deadline:
                    log.error("prompts: could not record that %s was %s (%s); the next "
                              "attempt will look for the post before posting", job.key,
                              outcome, exc)
                    return
                await self._sleep(delay)
                delay = min(1.0, delay * 2)

    async def _release(self, job: Job, token: str) -> None:
        try:
            await self.store.release(job.key, token)
        except StoreError as exc:  # the lease lapses by itself
            log.debug("prompts: cannot release %s (%s)", job.key, exc)

    async def _flag(self, sub: Subscription, reason: str) -> None:
        try:
            await self.store.flag(sub.platform, sub.channel, reason)
        except StoreError as exc:  # the day is settled anyway
            log.warning("prompts: could not flag %s (%s)", sub.key, exc)
