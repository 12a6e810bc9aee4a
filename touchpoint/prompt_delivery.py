"""Posting one channel's prompt (or digest) of the day: claim, post, settle, once.

Every instance runs the same queue over the same channels; the store decides
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
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

from adapters.outbound import Outbound, Result, in_team
from adapters.retry_after import RetryPolicy, next_delay
from bot.digest import build_digest, digest_week
from bot.messages import Reply
from bot.playbooks import Playbook
from bot.prompts import prompt_pool, prompt_reply, rotation
from bot.schedule import Subscription
from bot.store import Store, StoreError
from touchpoint.prompt_jobs import Job, PromptSettings
from touchpoint.prompt_pacing import Pacer, pace_space

log = logging.getLogger("touchpoint.prompts")

Status = Literal["posted", "already", "held", "gone", "failed", "unavailable", "retry"]
FINAL = frozenset({"posted", "already", "gone", "failed"})
"""The outcomes that end a channel's day here; the others go round the queue again."""
RESLOTS = 3
"""Shared slots a post may give up because this process woke too late for them."""
Sleep = Callable[[float], Awaitable[None]]


class PromptDelivery:
    """The one idempotent path to a channel's post of the day (scheduler and CLI alike)."""

    def __init__(self, store: Store, outbounds: Mapping[str, Outbound],
                 playbooks: Callable[[], Sequence[Playbook]], settings: PromptSettings,
                 *, pacer: Pacer | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.outbounds = outbounds
        self.settings = settings
        self._playbooks = playbooks
        self._pacer = pacer or Pacer(store, settings.rate, settings.channel_interval,
                                     longest=settings.longest_wait)
        self._sleep = sleep
        # The shared retry rule; its waits go through the pacer, so that no instance posts
        # to the channel (or, after a Retry-After, to the workspace) meanwhile.
        self._retry = RetryPolicy(attempts=settings.attempts,
                                  base_delay=2 * settings.channel_interval,
                                  max_delay=settings.max_wait, max_wait=settings.max_wait)

    async def post(self, job: Job) -> Status:
        settings, sub = self.settings, job.sub
        outbound = self.outbounds.get(sub.platform)
        if outbound is None:
            log.error("prompts: %s is off here; cannot post to %s", sub.platform, sub.channel)
            return "failed"
        outbound = in_team(outbound, sub.team)  # a workspace's own subscription: its token
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
        space = await pace_space(outbound, sub)
        for attempt in range(1, settings.attempts + 1):
            try:
                if not await self._take_turn(job, token, space):
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
            delay = next_delay(self._retry, result, attempt)
            if delay is None:
                break
            log.warning("prompts: posting to %s: %s; retry %d in %.1f s", sub.key,
                        result.reason, attempt, delay)
            await self._pacer.pause(space, sub.channel, delay,
                                    shared=result.retry_after is not None)
        log.warning("prompts: posting to %s: %s; trying again later", sub.key, result.reason)
        await self._release(job, token)
        return "retry"

    async def _take_turn(self, job: Job, token: str, space: str) -> bool:
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
        await self._sleep(await self._pacer.channel_slot(space, sub.channel))
        for _ in range(RESLOTS + 1):
            asked = time.monotonic()
            wait = await self._pacer.shared_slot(space)
            if not await self.store.renew(job.key, token, wait + settings.lease):
                return False
            slot = asked + wait
            await self._sleep(max(0.0, slot - time.monotonic()))
            if time.monotonic() - slot <= self._pacer.tolerance:
                break
        return True

    async def _reply(self, job: Job) -> Reply | None:
        own = self.store.for_team(job.sub.team)  # the workspace's own counts and rotation
        if job.sub.digest:
            titles = {p.id: p.title for p in self._playbooks()}
            return await build_digest(own, digest_week(job.day), titles)
        pool = rotation(job.sub.key, prompt_pool(self._playbooks(), job.sub.playbooks))
        if not pool:
            return None
        chosen = await own.pick_prompt(job.sub.key, job.day.isoformat(), [p.id for p in pool])
        return prompt_reply(next(p for p in pool if p.id == chosen))

    async def _settle(self, job: Job, outcome: str) -> None:
        """Record the outcome; a post already made must not be lost to a store outage."""
        failed = await self._through_outage(
            lambda: self.store.settle(job.key, outcome, self.settings.keep))
        if failed is not None:
            log.error("prompts: could not record that %s was %s (%s); the next attempt will "
                      "look for the post before posting", job.key, outcome, failed)

    async def _through_outage(self, write: Callable[[], Awaitable[object]]) -> StoreError | None:
        """Retry a store write for as long as the lease would have held the channel (until
        then no other instance can take it over); the last error if it never went through."""
        deadline = time.monotonic() + self.settings.lease
        delay = 0.05
        while True:
            try:
                await write()
                return None
            except StoreError as exc:
                if time.monotonic() + delay > deadline:
                    return exc
                await self._sleep(delay)
                delay = min(1.0, delay * 2)

    async def _release(self, job: Job, token: str) -> None:
        try:
            await self.store.release(job.key, token)
        except StoreError as exc:  # the lease lapses by itself
            log.debug("prompts: cannot release %s (%s)", job.key, exc)

    async def _flag(self, sub: Subscription, reason: str) -> None:
        own = self.store.for_team(sub.team)
        failed = await self._through_outage(lambda: own.flag(sub.platform, sub.channel, reason))
        if failed is not None:  # the day is settled anyway; tomorrow's post finds out again
            log.warning("prompts: could not flag %s (%s)", sub.key, failed)
