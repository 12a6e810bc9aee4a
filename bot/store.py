"""Shared state behind a small interface, so several instances can share it.

The in-memory store is the embedded default for one process; a Redis store
implements the same `Store` protocol for many. Every method is a single
atomic step, so no caller needs a lock around a read-then-write.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

Clock = Callable[[], float]


class Store(Protocol):
    async def first_time(self, key: str, ttl: float) -> bool:
        """Mark `key` as seen for `ttl` seconds; True only for the first caller."""

    async def set_muted(self, user: str, muted: bool) -> None: ...

    async def is_muted(self, user: str) -> bool: ...

    async def incr(self, counter: str, amount: int = 1) -> int:
        """Add to a named counter (usage, feedback) and return its new value."""

    async def counters(self, prefix: str = "") -> dict[str, int]: ...

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        """Remember where a conversation is (a serialised platform reference) to post later."""

    async def drop_reference(self, platform: str, conversation: str) -> None: ...

    async def references(self, platform: str) -> dict[str, str]: ...

    # Analytics and playbook versions (issue 6)

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        """Add to a counter of one ISO week (`2024-W05`); weeks expire after `WEEKS_KEPT`."""

    async def week_counters(self, week: str) -> dict[str, int]: ...

    async def add_question(self, week: str, text: str, keep: int) -> None:
        """Remember an unanswered question (no user id) in the week's list of the latest `keep`."""

    async def questions(self, week: str, limit: int) -> list[str]:
        """The week's unanswered questions, newest first."""

    async def set_value(self, name: str, value: str) -> None:
        """A small shared fact, e.g. the playbook commit instances should converge on."""

    async def get_value(self, name: str) -> str | None: ...


WEEKS_KEPT = 60
"""Weeks of analytics a store keeps: a year of week-on-week comparisons, then they go."""


class MemoryStore:
    """One process's state; lost on exit, which is fine for one instance or tests."""

    def __init__(self, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._expiry: dict[str, float] = {}
        self._muted: set[str] = set()
        self._counters: dict[str, int] = {}
        self._references: dict[str, dict[str, str]] = {}
        self._weeks: dict[str, dict[str, int]] = {}
        self._questions: dict[str, deque[str]] = {}
        self._values: dict[str, str] = {}

    async def first_time(self, key: str, ttl: float) -> bool:
        now = self._clock()
        expires = self._expiry.get(key)
        if expires is not None and expires > now:
            return False
        if len(self._expiry) >= self._max_keys:
            live = [(k, v) for k, v in self._expiry.items() if v > now]
            self._expiry = dict(live[-(self._max_keys // 2):])
        self._expiry[key] = now + ttl
        return True

    async def set_muted(self, user: str, muted: bool) -> None:
        if muted:
            self._muted.add(user)
        else:
            self._muted.discard(user)

    async def is_muted(self, user: str) -> bool:
        return user in self._muted

    async def incr(self, counter: str, amount: int = 1) -> int:
        value = self._counters.get(counter, 0) + amount
        self._counters[counter] = value
        return value

    async def counters(self, prefix: str = "") -> dict[str, int]:
        return {k: v for k, v in sorted(self._counters.items()) if k.startswith(prefix)}

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        self._references.setdefault(platform, {})[conversation] = reference

    async def drop_reference(self, platform: str, conversation: str) -> None:
        self._references.get(platform, {}).pop(conversation, None)

    async def references(self, platform: str) -> dict[str, str]:
        return dict(self._references.get(platform, {}))

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        counters = self._weeks.setdefault(week, {})
        counters[counter] = counters.get(counter, 0) + amount
        _keep_latest(self._weeks)
        return counters[counter]

    async def week_counters(self, week: str) -> dict[str, int]:
        return dict(sorted(self._weeks.get(week, {}).items()))

    async def add_question(self, week: str, text: str, keep: int) -> None:
        kept = self._questions.get(week)
        if kept is None or kept.maxlen != keep:
            kept = self._questions[week] = deque(kept or (), maxlen=max(1, keep))
        kept.appendleft(text)
        _keep_latest(self._questions)

    async def questions(self, week: str, limit: int) -> list[str]:
        return list(self._questions.get(week, ()))[: max(0, limit)]

    async def set_value(self, name: str, value: str) -> None:
        self._values[name] = value

    async def get_value(self, name: str) -> str | None:
        return self._values.get(name)


def _keep_latest(by_week: dict[str, Any]) -> None:
    """Forget the oldest weeks beyond `WEEKS_KEPT`, as Redis expires them."""
    while len(by_week) > WEEKS_KEPT:
        del by_week[min(by_week)]
