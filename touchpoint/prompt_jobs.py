"""What is due: one channel's post for one scheduled day, and the bounds of posting them.

A `Job` is named by its channel, kind and local date, so every instance, the
`touchpoint prompt` command and a catch-up after a restart all mean the same
post by it, and the store's claims can let only one of them through.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.schedule import Subscription
from touchpoint.settings import Settings

WallClock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class PromptSettings:
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
    """Posts one instance has in flight at once (`prompt_settings` gives more at high rates)."""
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


WORKER_AHEAD = 0.25
"""Seconds of the shared rate one instance's workers can hold booked at once. Each worker
goes through a claim, a pick, a booking, the post and a settle between two slots; with
fewer workers than the slots in that time, a slow moment leaves a slot nobody takes,
and a slot not taken is time the run never gets back."""


def prompt_settings(settings: Settings) -> PromptSettings:
    workers = max(PromptSettings.workers, math.ceil(settings.prompt_rate * WORKER_AHEAD))
    return PromptSettings(rate=settings.prompt_rate, lease=settings.prompt_lease,
                          grace=settings.prompt_grace, workers=workers)


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
