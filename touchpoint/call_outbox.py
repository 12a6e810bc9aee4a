"""Nudges after customer calls, delivered at least once and posted once.

A webhook is answered 2xx only after its call is in the store's outbox, so an
accepted call survives this process. Workers on every instance take waiting
calls through the same claims as the daily prompt (`Store.claim`): claim ->
find the person or channel -> post -> settle -> drop from the outbox. A crash
leaves the claim to lapse and the entry to wait; the next claim of it looks
for the post in the channel (the post carries the call's key as metadata)
before posting again. A Slack outage or a store outage releases the claim for
a while, so the call is tried again later, however long that takes. The
settled claim is what recognises the same call re-sent after it was posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from adapters.outbound import Outbound, Unavailable, in_team
from bot.calls import Call
from bot.events import CallEnded
from bot.handler import Handler
from bot.messages import Reply
from bot.routing import Routing, Target, route
from bot.store import PostLedger, Queued, StoreError
from bot.usage import Counted, UsageEvent

log = logging.getLogger("touchpoint.calls")

Observe = Callable[[str], None]
FINAL = frozenset({"posted", "already", "unrouted", "gone", "failed"})


@dataclass(frozen=True)
class OutboxSettings:
    lease: float = 60.0
    """Seconds a claim holds a call before another instance may take it over."""
    retry_max: float = 300.0
    """The longest pause between two tries of a call Slack or Teams would not take."""
    keep: float = 7 * 86400.0
    """How long a posted call is remembered, so the same call re-sent is recognised."""
    limit: int = 10_000
    """Calls that may wait at once; beyond, a sender is answered 503 and retries later."""
    poll: float = 1.0
    """Seconds between two looks at the outbox when nothing new was accepted here."""
    batch: int = 50
    workers: int = 4


class CallOutbox:
    def __init__(self, store: PostLedger, handler: Handler, outbounds: Mapping[str, Outbound],
                 routing: Callable[[], Routing], settings: OutboxSettings,
                 observe: Observe = lambda outcome: None) -> None:
        self._store = store
        self._handler = handler
        self._outbounds = outbounds
        self._routing = routing
        self.settings = settings
        self._observe = observe
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures: dict[str, int] = {}
        self._built: dict[str, tuple[Target, str, list[Reply]]] = {}

    async def accept(self, call: Call) -> Queued:
        """Into the store's outbox, or why not; raises when the store is unreachable."""
        entry = call if call.accepted else replace(call, accepted=time.time())
        queued = await self._store.outbox_put(call.key, entry.to_json(), self.settings.limit)
        if queued == "added":
            self._wake.set()
        return queued

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self, drain: float = 10.0) -> None:
        """Stop the worker, after one last try (for up to `drain` seconds) at what waits:
        a call accepted just before a deploy goes out now, not after the next start."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(StoreError, TimeoutError):  # the entries keep waiting
            await asyncio.wait_for(self.sweep(), drain)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sweep()
            except StoreError as exc:  # look again later
                log.debug("calls: cannot read the outbox (%s: %s)", type(exc).__name__, exc)
            except Exception:  # a bug must not end the worker: the entries keep waiting
                log.exception("calls: sweeping the outbox failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll)

    async def sweep(self) -> None:
        """Try every waiting call once (those another instance holds are left to it)."""
        waiting = await self._store.outbox(self.settings.batch)
        gate = asyncio.Semaphore(self.settings.workers)

        async def one(key: str, entry: str) -> None:
            async with gate:
                await self.deliver(key, entry)

        await asyncio.gather(*(one(k, v) for k, v in waiting.items()))

    async def deliver(self, key: str, entry: str) -> str:
        """One try at one waiting call; what came of it (for tests and metrics)."""
        token = uuid.uuid4().hex
        try:
            claim = await self._store.claim(key, token, self.settings.lease, self.settings.keep)
        except StoreError as exc:  # no claim, no post
            log.debug("calls: cannot claim %s (%s)", key, exc)
            return "unavailable"
        if claim.state == "settled":
            self._forget(key)
            await self._drop(key)
            return "already"
        if claim.state == "held":
            return "held"
        try:
            call = Call.from_json(entry)
        except ValueError as exc:
            log.error("calls: dropping a damaged outbox entry %s (%s)", key, exc)
            return await self._finish(key, "failed")
        outcome = await self._post(key, token, call, claim.attempt)
        if outcome in FINAL:
            self._forget(key)
        return outcome

    def _forget(self, key: str) -> None:
        """What this process kept about a call's tries; all of it when another instance may
        have finished calls it tried (it never hears of those again)."""
        self._failures.pop(key, None)
        self._built.pop(key, None)
        if len(self._failures) + len(self._built) > 2 * self.settings.limit:
            self._failures.clear()
            self._built.clear()

    async def _post(self, key: str, token: str, call: Call, attempt: int) -> str:
        try:
            built = self._built.get(key) or await self._build(call)
        except Unavailable as exc:
            return await self._later(key, token, str(exc))
        if built is None:
            log.warning("calls: nobody to nudge after %s call %s (%s): no route in "
                        "routing.yaml and no owner found", call.source, call.id,
                        call.owner_email or "no owner e-mail")
            self._observe("unrouted")
            await self._count(UsageEvent(Counted.CALL_UNROUTED), self._routing().slack_team)
            return await self._finish(key, "unrouted")
        self._built[key] = built
        target, channel, replies = built
        outbound = in_team(self._outbounds[target.platform], target.team)
        if attempt > 1:
            landed = await outbound.find(channel, key, call.accepted - 60)
            if landed is None:
                return await self._later(key, token, "cannot check an earlier attempt")
            if landed:
                log.info("calls: an earlier attempt had posted %s; recording it", key)
                return await self._finish(key, "posted")
        for reply in replies:
            result = await outbound.send(channel, reply, key)
            if result.outcome == "retry":
                return await self._later(key, token, result.reason, result.retry_after)
            if result.outcome != "posted":
                log.error("calls: cannot post the nudge for %s to %s:%s (%s)", key,
                          target.platform, channel, result.reason)
                self._observe(result.outcome)
                return await self._finish(key, result.outcome)
        self._observe("posted")
        return await self._finish(key, "posted")

    async def _build(self, call: Call) -> tuple[Target, str, list[Reply]] | None:
        """Where the nudge goes and what it says; None when nobody can be found."""
        target = route(self._routing(), call, list(self._outbounds))
        if target is None:
            return None
        outbound = in_team(self._outbounds[target.platform], target.team)
        channel, owner = target.channel, call.owner
        if target.email:
            found = await outbound.person(target.email)
            if found is None:
                return None
            channel = found
            owner = found if target.platform == "slack" else ""
        elif call.owner_email and not owner:
            owner = call.owner_email
            if target.platform == "slack":
                owner = await outbound.person(call.owner_email) or call.owner_email
        message = CallEnded(texts=tuple(call.texts), customer=call.customer, user=owner,
                            channel=channel, team=target.team,
                            platform="slack" if target.platform == "slack" else "teams")
        replies = await self._handler.handle(message)
        return target, channel, [replace(r, channel=channel) for r in replies]

    async def _later(self, key: str, token: str, reason: str,
                     asked: float | None = None) -> str:
        """Hold the claim (so no instance tries) for a growing pause, then let it lapse."""
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        pause = min(self.settings.retry_max, asked if asked is not None else 2.0 ** failures)
        log.warning("calls: %s not posted yet (%s); trying again in %.0f s", key, reason, pause)
        self._observe("retry")
        try:
            if not await self._store.renew(key, token, max(0.05, pause)):
                return "retry"
        except StoreError as exc:  # the lease lapses by itself
            log.debug("calls: cannot hold %s (%s)", key, exc)
        return "retry"

    async def _finish(self, key: str, outcome: str) -> str:
        """Settle, then drop from the outbox; if the store is down now, the next claim of
        the entry finds it settled (or finds the post) and drops it then."""
        try:
            await self._store.settle(key, outcome, self.settings.keep)
            await self._store.outbox_drop(key)
        except StoreError as exc:
            log.warning("calls: could not record that %s was %s (%s); the next try will "
                        "look for the post first", key, outcome, exc)
        return outcome

    async def _drop(self, key: str) -> None:
        try:
            await self._store.outbox_drop(key)
        except StoreError as exc:  # dropped on a later look
            log.debug("calls: cannot drop %s (%s)", key, exc)

    async def _count(self, usage: UsageEvent, team: str) -> None:
        await self._handler.count(usage, team)
