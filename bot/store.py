"""Shared state behind small interfaces, so several instances can share it.

`Store` is every role below at once, which is what the handler and the
process need; a caller that needs one kind of state asks for that role
(`Mutes`, `Usage`, ...), so its tests and its readers see what it touches.
The in-memory store (`bot.memory_store`) is the embedded default for one
process; a Redis store (`adapters.redis_store`) implements the same roles for
many. Every method is a single atomic step, so no caller needs a lock around
a read-then-write.

A store that cannot do a call raises `StoreError`, and only that: callers
catch it to degrade (answer without saving, post later), while anything else
out of a store is a bug and is left to the outer edge that logs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Clock = Callable[[], float]
Queued = Literal["added", "known", "full"]


QUESTIONS_TTL = 90 * 86400.0
"""Seconds a week's unanswered questions are kept by default: people's words, not counts."""

WEEKS_KEPT = 60
"""Weeks of analytics a store keeps: a year of week-on-week comparisons, then they go."""


class StoreError(Exception):
    """The store could not do the call; the caller degrades rather than fails.

    Never raised itself: one of the kinds below says why, for the logs and for
    the few callers that answer them differently.
    """


class StoreUnavailable(StoreError):
    """The store cannot be reached right now (a connection refused or timed out);
    it reconnects by itself, so the same call may work a moment later."""


class StoreRefused(StoreError):
    """The store answered with an error: a key of the wrong type, a read-only
    replica, out of memory. Trying again does not help until someone looks."""


class StoreCorrupt(StoreError):
    """The store answered with something that does not parse as the reply the call
    expects: a damaged value, or a script of another version."""


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


class Dedupe(Protocol):
    """Delivery ids and cooldowns: each seen once per instance group and period."""

    async def first_time(self, key: str, ttl: float) -> bool:
        """Mark `key` as seen for `ttl` seconds; True only for the first caller."""


class Mutes(Protocol):
    """Who asked for no nudges: people who muted the bot, channels switched off."""

    async def set_muted(self, user: str, muted: bool) -> None: ...

    async def is_muted(self, user: str) -> bool: ...

    async def set_nudges(self, platform: str, channel: str, off_by: str) -> None:
        """Switch a channel's nudges off (`off_by` says who, and is shown) or, with "", on."""

    async def nudges_off(self, platform: str) -> dict[str, str]:
        """The channels whose nudges are switched off, each with who switched them off."""

    async def nudges_allowed(self, platform: str, channel: str) -> bool:
        """False while the channel's nudges are switched off: one cheap read per message."""


class Usage(Protocol):
    """Counts (all-time and by ISO week) and the week's unanswered questions and
    corrections, for reports; never a user id."""

    async def incr_counts(self, week: str, counter: str, amount: int = 1) -> tuple[int, int]:
        """Add to a named counter (usage, feedback) and to its count in ISO week `week`.

        One step for both; returns their new values, all-time first. The week's
        count is the one `incr_week` adds to and `week_counters` reads.
        """

    async def counters(self, prefix: str = "") -> dict[str, int]: ...

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


class References(Protocol):
    """Where each conversation is, so the bot can post there later unasked."""

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        """Remember where a conversation is (a serialised platform reference) to post later."""

    async def drop_reference(self, platform: str, conversation: str) -> None: ...

    async def references(self, platform: str) -> dict[str, str]: ...


class Subscriptions(Protocol):
    """Which channels get a scheduled post, which cannot be posted to, and whose
    turn each prompt is."""

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


class PostLedger(Protocol):
    """Which posts are taken, done, or waiting, so each is posted once by one instance."""

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


class Pacing(Protocol):
    """One rate shared by every instance, so together they keep a platform's limit."""

    async def reserve(self, key: str, interval: float, after: float = 0.0,
                      longest: float = math.inf) -> float:
        """Book the next slot of something allowed once per `interval` seconds.

        Returns the seconds to wait before using it. `after` keeps every slot at
        least that many seconds away (a platform's Retry-After) without adding
        it to the slots already booked. A stored slot more than `longest`
        seconds away was booked by no instance: the key is damaged, and is
        started over (and logged) rather than waited for.
        """


class SharedValues(Protocol):
    """Small shared facts, e.g. the playbook commit instances should converge on."""

    async def set_value(self, name: str, value: str) -> None: ...

    async def get_value(self, name: str) -> str | None: ...


class Store(Dedupe, Mutes, Usage, References, Subscriptions, PostLedger, Pacing, SharedValues,
            Protocol):
    """Every role at once: what the handler and the process are given."""

    def for_team(self, team: str) -> Store:
        """The same store with its `Usage` and `Subscriptions` kept apart for one Slack
        workspace (`team`, as the Slack adapter names it), so each workspace Touchpoint is
        installed in counts, subscribes and rotates prompts on its own; every other role is
        shared. `""` is the store itself: one workspace, and Teams, keep the plain layout."""
