"""Shared state behind a small interface, so several instances can share it.

The in-memory store is the embedded default for one process; a Redis store
implements the same `Store` protocol for many. Every method is a single
atomic step, so no caller needs a lock around a read-then-write.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Clock = Callable[[], float]
Queued = Literal["added", "known", "full"]


QUESTIONS_TTL = 90 * 86400.0
"""Seconds a week's unanswered questions are kept by default: people's words, not counts."""


@dataclass(frozen=True)
class Claim:
    """The answer to "may I post this?" for one channel and day.

    `mine`: post, then `settle` (or `release` to let another instance try);
    `attempt` counts the claims of this key so far, so an attempt after the
    first knows an earlier one may have posted before it died. `held`:
    another instance's lease is live. `settled`: decided for the day, with
    the `outcome` the settling instance recorded (`posted`, `gone`, ...).
    """

    state: Literal["mine", "held", "settled"]
    attempt: int = 0
    outcome: str = ""


class Store(Protocol):
    async def first_time(self, key: str, ttl: float) -> bool:
        """Mark `key` as seen for `ttl` seconds; True only for the first caller."""

    async def set_muted(self, user: str, muted: bool) -> None: ...

    async def is_muted(self, user: str) -> bool: ...

    async def incr_counts(self, week: str, counter: str, amount: int = 1) -> tuple[int, int]:
        """Add to a named counter (usage, feedback) and to its count in ISO week `week`.

        One step for both; returns their new values, all-time first. The week's
        count is the one `incr_week` adds to and `week_counters` reads.
        """

    async def counters(self, prefix: str = "") -> dict[str, int]: ...

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        """Remember where a conversation is (a serialised platform reference) to post later."""

    async def drop_reference(self, platform: str, conversation: str) -> None: ...

    async def references(self, platform: str) -> dict[str, str]: ...

    # Analytics and playbook versions

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        """Add to a counter of one ISO week (`2024-W05`); weeks expire after `WEEKS_KEPT`."""

    async def week_counters(self, week: str) -> dict[str, int]: ...

    async def add_question(self, week: str, text: str, keep: int,
                           ttl: float = QUESTIONS_TTL) -> None:
        """Remember an unanswered question (no user id) in the week's list of the latest `keep`;
        the week's list is forgotten `ttl` seconds after this question."""

    async def questions(self, week: str, limit: int) -> list[str]:
        """The week's unanswered questions, newest first."""

    async def add_correction(self, week: str, entry: str, keep: int,
                             ttl: float = QUESTIONS_TTL) -> None:
        """Remember an answered "Not helpful" form (serialised, no user id) as `add_question`
        remembers a question: the week's latest `keep`, forgotten `ttl` seconds after this one."""

    async def corrections(self, week: str, limit: int) -> list[str]:
        """The week's corrections, newest first."""

    async def set_value(self, name: str, value: str) -> None:
        """A small shared fact, e.g. the playbook commit instances should converge on."""

    async def get_value(self, name: str) -> str | None: ...

    # The daily prompt

    async def subscribe(self, platform: str, channel: str, spec: str) -> None:
        """Save a channel's daily-prompt subscription (a serialised schedule), replacing any."""

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        """Remove a channel's subscription; False when it had none."""

    async def subscriptions(self, platform: str) -> dict[str, str]: ...

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        """Mark a channel the bot can no longer post to; schedules skip it until `unflag`."""

    async def unflag(self, platform: str, channel: str) -> None: ...

    async def flagged(self, platform: str) -> dict[str, str]: ...

    async def pick_prompt(self, channel: str, day: str, prompts: Sequence[str]) -> str:
        """The channel's prompt id for `day`, from `prompts` in rotation order.

        The same answer for every call on the same day (a retry posts the same
        prompt); a new day takes the first prompt the channel has not had since
        its last full round. Empty when `prompts` is.
        """

    async def claim(self, key: str, token: str, lease: float, keep: float) -> Claim:
        """Take `key` for `lease` seconds unless it is settled or another token holds it.

        `keep` is how long the attempt count and, after `settle`, the outcome last.
        Claiming again with the same token (a retry after a lost reply) is `mine`.
        """

    async def renew(self, key: str, token: str, lease: float) -> bool:
        """Extend our lease to `lease` seconds from now; False if it is no longer ours."""

    async def settle(self, key: str, outcome: str, keep: float) -> None:
        """Record the outcome for `keep` seconds; every later claim answers `settled`."""

    async def release(self, key: str, token: str) -> None:
        """Give up our lease at once, so another attempt need not wait for it to lapse."""

    async def reserve(self, key: str, interval: float, after: float = 0.0,
                      longest: float = math.inf) -> float:
        """Book the next slot of something allowed once per `interval` seconds.

        Returns the seconds to wait before using it; shared by every instance,
        so together they keep a platform's rate. `after` keeps every slot at
        least that many seconds away (a platform's Retry-After) without adding
        it to the slots already booked. A stored slot more than `longest`
        seconds away was booked by no instance: the key is damaged, and is
        started over (and logged) rather than waited for.
        """

    # Nudges after customer calls

    async def outbox_put(self, key: str, entry: str, limit: int) -> Queued:
        """Keep `entry` until a worker has posted it, in one step with the duplicate check.

        `known`: `key` is already waiting, or its claim (see `claim`) is settled, so
        a delivery re-sent before or after it was posted is recognised; `full`:
        `limit` entries wait already and nothing was added.
        """

    async def outbox(self, limit: int) -> dict[str, str]:
        """Up to `limit` waiting entries by key (any of them, when more wait)."""

    async def outbox_drop(self, key: str) -> None:
        """Forget a waiting entry, once its claim is settled."""

    # Channel switches

    async def set_nudges(self, platform: str, channel: str, off_by: str) -> None:
        """Switch a channel's nudges off (`off_by` says who, and is shown) or, with "", on."""

    async def nudges_off(self, platform: str) -> dict[str, str]:
        """The channels whose nudges are switched off, each with who switched them off."""

    async def nudges_allowed(self, platform: str, channel: str) -> bool:
        """False while the channel's nudges are switched off: one cheap read per message."""


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
        self._claims = {k: v for k, v in self._claims.items() if v[1] > now}
        self._attempts = {k: v for k, v in self._attempts.items() if v[1] > now}
        self._slots = {k: v for k, v in self._slots.items() if v > now}


def _keep_latest(by_week: dict[str, Any]) -> None:
    """Forget the oldest weeks beyond `WEEKS_KEPT`, as Redis expires them."""
    while len(by_week) > WEEKS_KEPT:
        del by_week[min(by_week)]
