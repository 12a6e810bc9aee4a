"""This instance's queue of due posts: each worked until it is final, a few at a time.

The scheduler only says which posts are due; the queue keeps each one going
round (another instance holds it, the store is away, the platform asked to
wait) until its outcome is final or its day is over, and logs the run's tally.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from adapters.tasks import TaskSet
from touchpoint.prompt_delivery import FINAL, PromptDelivery
from touchpoint.prompt_jobs import Job, WallClock, utc_now

log = logging.getLogger("touchpoint.prompts")


class PromptQueue:
    """This instance's queue of due posts, worked by a few tasks until each is final.

    Posts another instance holds, or that the store could not decide, wait a
    little and go round again; a post not final by the end of its day (or of
    its grace period, if that is later) is logged as missed.
    """

    def __init__(self, delivery: PromptDelivery, clock: WallClock = utc_now,
                 observe: Callable[[str], None] | None = None) -> None:
        self.delivery = delivery
        self._observe = observe
        """Told each channel's final status (posted, already, gone, failed, missed): metrics."""
        self.settings = delivery.settings
        self._clock = clock
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._pending: dict[str, Job] = {}
        self._tries: Counter[str] = Counter()
        self._finished: dict[str, dt.datetime] = {}
        self._tally: Counter[str] = Counter()
        self._tasks = TaskSet()
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
        await self._tasks.cancel()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(work)

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
        status = await self.delivery.post(job)
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
