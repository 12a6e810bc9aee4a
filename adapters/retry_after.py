"""How long an HTTP Retry-After header asks to wait, and the one retry loop built on it.

The header may arrive under any case, as a string or as the list of values
slack_sdk's retry handlers see, in delta seconds or as an HTTP date. Callers
choose their own wait when it is absent or unreadable, and their own bound.

`retrying` is how Slack's answers and Teams' posts are tried again: each platform
turns a failure into an `outbound.Result` with its own classifier, and this loop
only reads the outcome and the wait asked for.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from adapters.outbound import Result


def retry_after(headers: Mapping[str, object] | None,
                now: float | None = None) -> float | None:
    """Seconds the first Retry-After header asks for (never negative); None if absent or
    unreadable. `now` (seconds since the epoch) is what an HTTP date is counted from."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            return _seconds(raw, now)
    return None


def _seconds(raw: object, now: float | None) -> float | None:
    if isinstance(raw, int | float):
        return max(0.0, float(raw))
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one post is tried before its last failure is what the caller gets.

    A failure classified `retry` is tried again after the wait the platform asked
    for (Retry-After) or, when it asked none, after a doubling backoff; every other
    outcome ends at once.
    """

    attempts: int = 4
    """Tries in all, the first one included."""
    base_delay: float = 0.5
    """Seconds before the first retry when the platform asked no wait; doubles each time."""
    max_delay: float = 10.0
    """The longest single wait, whatever a Retry-After asks."""
    max_wait: float = math.inf
    """The longest Retry-After waited out: beyond it the post is given up, not delayed
    (a coaching reply that comes minutes late is worse than none)."""
    jitter: float = 0.0
    """Up to this many seconds added to each wait, so instances asked alike do not
    come back in step."""


def next_delay(policy: RetryPolicy, result: Result, attempt: int) -> float | None:
    """Seconds to wait before trying again after try number `attempt` ended in `result`;
    None when it is not tried again."""
    if result.outcome != "retry" or attempt >= policy.attempts:
        return None
    asked = result.retry_after
    if asked is not None and asked > policy.max_wait:
        return None
    delay = asked if asked is not None else policy.base_delay * 2 ** (attempt - 1)
    return min(delay, policy.max_delay)


def _quiet(result: Result, attempt: int, delay: float) -> None:
    """Says nothing: the caller logs the outcome it gets."""


async def retrying(attempt: Callable[[], Awaitable[Result]], policy: RetryPolicy, *,
                   waiting: Callable[[Result, int, float], None] = _quiet,
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Result:
    """Try `attempt` until it ends in anything but `retry`, or `policy` says stop; the
    last result. `waiting` is told each retry's failure, try number and wait first."""
    number = 1
    while True:
        result = await attempt()
        delay = next_delay(policy, result, number)
        if delay is None:
            return result
        waiting(result, number, delay)
        await sleep(delay + (random.uniform(0, policy.jitter) if policy.jitter else 0.0))
        number += 1
