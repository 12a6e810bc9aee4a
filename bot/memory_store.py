"""The `Store` in one process's memory: the embedded default, and the tests' store.

Every role in one class, since each is a few dictionaries and the claims,
attempts and slots are pruned together; nothing here can fail as a store
does, so it never raises `StoreError`.
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from bot.store import QUESTIONS_TTL, WEEKS_KEPT, Claim, Clock, Queued


class MemoryStore:
    """One process's state; lost on exit, which is fine for one instance or tests."""

    def __init__(self, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._expiry: dict[str, float] = {}
        self._muted: set[str] = set()
        self._counters: dict[str, int] = {}
        self._references: dict[str, dict[str, str]] = {}
        self._subscriptions: dict[str, dict[str, str]] = {}
        self._flags: dict[str, dict[str, str]] = {}
        self._rotations: dict[str, tuple[str, str, set[str]]] = {}
        self._claims: dict[str, tuple[str, float]] = {}
        self._attempts: dict[str, tuple[int, float]] = {}
        self._slots: dict[str, float] = {}
        self._weeks: dict[str, dict[str, int]] = {}
        self._questions: dict[str, deque[str]] = {}
        self._questions_until: dict[str, float] = {}
        self._corrections: dict[str, deque[str]] = {}
        self._corrections_until: dict[str, float] = {}
        self._values: dict[str, str] = {}
        self._outbox: dict[str, str] = {}
        self._nudges_off: dict[str, dict[str, str]] = {}
        self._teams: dict[str, MemoryStore] = {"": self}
        """Every workspace's view, shared by the views (a shallow copy shares it)."""

    def for_team(self, team: str) -> MemoryStore:
        """A view sharing every dictionary but the counts, lists, subscriptions, flags and
        rotations, which are the workspace's own (see `Store.for_team`)."""
        view = self._teams.get(team)
        if view is None:
            view = copy.copy(self)
            view._counters, view._weeks = {}, {}
            view._questions, view._questions_until = {}, {}
            view._corrections, view._corrections_until = {}, {}
            view._subscriptions, view._flags, view._rotations = {}, {}, {}
            self._teams[team] = view
        return view

    async def first_time(self, key: str, ttl: float) -> bool:
        now = self._clock()
        expires = self._expiry.get(key)
        if expires is not None and expires > now:
            return False
        if len(self._expiry) >= self._max_keys:
            live = [(k, v) for k, v in self._expiry.items() if v > now]
            self._expiry.clear()  # in place: a workspace's view shares it
            self._expiry.update(live[-(self._max_keys // 2):])
        self._expiry[key] = now + ttl
        return True

    async def set_muted(self, user: str, muted: bool) -> None:
        if muted:
            self._muted.add(user)
        else:
            self._muted.discard(user)

    async def is_muted(self, user: str) -> bool:
        return user in self._muted

    async def incr_counts(self, week: str, counter: str, amount: int = 1) -> tuple[int, int]:
        total = self._counters[counter] = self._counters.get(counter, 0) + amount
        return total, self._incr_week(week, counter, amount)

    async def counters(self, prefix: str = "") -> dict[str, int]:
        return {k: v for k, v in sorted(self._counters.items()) if k.startswith(prefix)}

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        self._references.setdefault(platform, {})[conversation] = reference

    async def drop_reference(self, platform: str, conversation: str) -> None:
        self._references.get(platform, {}).pop(conversation, None)

    async def references(self, platform: str) -> dict[str, str]:
        return dict(self._references.get(platform, {}))

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        return self._incr_week(week, counter, amount)

    def _incr_week(self, week: str, counter: str, amount: int) -> int:
        counters = self._weeks.setdefault(week, {})
        counters[counter] = counters.get(counter, 0) + amount
        _keep_latest(self._weeks)
        return counters[counter]

    async def week_counters(self, week: str) -> dict[str, int]:
        return dict(sorted(self._weeks.get(week, {}).items()))

    async def add_question(self, week: str, text: str, keep: int,
                           ttl: float = QUESTIONS_TTL) -> None:
        self._push(self._questions, self._questions_until, week, text, keep, ttl)

    async def questions(self, week: str, limit: int) -> list[str]:
        return list(self._live(self._questions, self._questions_until, week) or ())[
            : max(0, limit)]

    async def add_correction(self, week: str, entry: str, keep: int,
                             ttl: float = QUESTIONS_TTL) -> None:
        self._push(self._corrections, self._corrections_until, week, entry, keep, ttl)

    async def corrections(self, week: str, limit: int) -> list[str]:
        return list(self._live(self._corrections, self._corrections_until, week) or ())[
            : max(0, limit)]

    def _push(self, lists: dict[str, deque[str]], until: dict[str, float], week: str,
              text: str, keep: int, ttl: float) -> None:
        kept = self._live(lists, until, week)
        if kept is None or kept.maxlen != keep:
            kept = lists[week] = deque(kept or (), maxlen=max(1, keep))
        kept.appendleft(text)
        until[week] = self._clock() + ttl
        _keep_latest(lists)
        for gone in [w for w in until if w not in lists]:
            del until[gone]

    def _live(self, lists: dict[str, deque[str]], until: dict[str, float],
              week: str) -> deque[str] | None:
        """The week's list, unless its time ran out: then it is dropped, as Redis expires it."""
        if until.get(week, math.inf) <= self._clock():
            lists.pop(week, None)
            del until[week]
        return lists.get(week)

    async def set_value(self, name: str, value: str) -> None:
        self._values[name] = value

    async def get_value(self, name: str) -> str | None:
        return self._values.get(name)

    async def subscribe(self, platform: str, channel: str, spec: str) -> None:
        self._subscriptions.setdefault(platform, {})[channel] = spec

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        return self._subscriptions.get(platform, {}).pop(channel, None) is not None

    async def subscriptions(self, platform: str) -> dict[str, str]:
        return dict(self._subscriptions.get(platform, {}))

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        self._flags.setdefault(platform, {})[channel] = reason

    async def unflag(self, platform: str, channel: str) -> None:
        self._flags.get(platform, {}).pop(channel, None)

    async def flagged(self, platform: str) -> dict[str, str]:
        return dict(self._flags.get(platform, {}))

    async def pick_prompt(self, channel: str, day: str, prompts: Sequence[str]) -> str:
        if not prompts:
            return ""
        last_day, pick, used = self._rotations.get(channel, ("", "", set()))
        if last_day == day and pick in prompts:
            return pick
        fresh = [p for p in prompts if p not in used]
        if not fresh:
            used, fresh = set(), list(prompts)
        pick = fresh[0]
        self._rotations[channel] = (day, pick, used | {pick})
        return pick

    async def claim(self, key: str, token: str, lease: float, keep: float) -> Claim:
        now = self._clock()
        self._prune(now)
        value, expires = self._claims.get(key, ("", 0.0))
        if expires > now:
            if value.startswith("done:"):
                return Claim("settled", outcome=value.removeprefix("done:"))
            if value == f"lease:{token}":
                return Claim("mine", attempt=self._attempt(key, now))
            return Claim("held")
        self._claims[key] = (f"lease:{token}", now + lease)
        attempt = self._attempt(key, now) + 1
        self._attempts[key] = (attempt, now + keep)
        return Claim("mine", attempt=attempt)

    async def renew(self, key: str, token: str, lease: float) -> bool:
        now = self._clock()
        value, expires = self._claims.get(key, ("", 0.0))
        if expires <= now or value != f"lease:{token}":
            return False
        self._claims[key] = (value, now + lease)
        return True

    async def settle(self, key: str, outcome: str, keep: float) -> None:
        self._claims[key] = (f"done:{outcome}", self._clock() + keep)

    async def release(self, key: str, token: str) -> None:
        if self._claims.get(key, ("", 0.0))[0] == f"lease:{token}":
            del self._claims[key]

    async def reserve(self, key: str, interval: float, after: float = 0.0,
                      longest: float = math.inf) -> float:
        now = self._clock()
        booked = self._slots.get(key, now)
        start = max(booked if booked <= now + longest else now, now + after)
        self._slots[key] = start + interval
        return start - now

    async def outbox_put(self, key: str, entry: str, limit: int) -> Queued:
        value, expires = self._claims.get(key, ("", 0.0))
        if key in self._outbox or (value.startswith("done:") and expires > self._clock()):
            return "known"
        if len(self._outbox) >= limit:
            return "full"
        self._outbox[key] = entry
        return "added"

    async def outbox(self, limit: int) -> dict[str, str]:
        return dict(list(self._outbox.items())[: max(0, limit)])

    async def outbox_drop(self, key: str) -> None:
        self._outbox.pop(key, None)

    async def set_nudges(self, platform: str, channel: str, off_by: str) -> None:
        if off_by:
            self._nudges_off.setdefault(platform, {})[channel] = off_by
        else:
            self._nudges_off.get(platform, {}).pop(channel, None)

    async def nudges_off(self, platform: str) -> dict[str, str]:
        return dict(self._nudges_off.get(platform, {}))

    async def nudges_allowed(self, platform: str, channel: str) -> bool:
        return channel not in self._nudges_off.get(platform, {})

    def _attempt(self, key: str, now: float) -> int:
        count, expires = self._attempts.get(key, (0, 0.0))
        return count if expires > now else 0

    def _prune(self, now: float) -> None:
        """Claims and attempt counts expire; drop them once there are many, like `first_time`."""
        if len(self._claims) + len(self._attempts) < self._max_keys:
            return
        for kept in (self._claims, self._attempts):  # in place: the views share them
            for key in [k for k, v in kept.items() if v[1] <= now]:
                del kept[key]
        for key in [k for k, v in self._slots.items() if v <= now]:
            del self._slots[key]


def _keep_latest(by_week: dict[str, Any]) -> None:
    """Forget the oldest weeks beyond `WEEKS_KEPT`, as Redis expires them."""
    while len(by_week) > WEEKS_KEPT:
        del by_week[min(by_week)]
