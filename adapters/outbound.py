"""Posting on the bot's own initiative (daily prompts, call nudges), whatever the platform.

A reply to a message can simply fail and be logged; a scheduled post has to
know why it failed, because that decides what happens next: try again later,
stop posting to that channel for good, or give up for today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from bot.messages import Reply

Outcome = Literal["posted", "retry", "gone", "failed"]


@dataclass(frozen=True)
class Result:
    """`retry`: a transient failure (rate limit, 5xx, network); `gone`: the bot cannot post
    there any more (removed, archived); `failed`: this post cannot work (credentials, a
    rejected message), trying again will not help today."""

    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None
    """Seconds the platform asked us to wait, when it said."""


class Unavailable(Exception):
    """The platform could not answer just now (network, 5xx, rate limit): ask again later."""


class Outbound(Protocol):
    platform: str

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        """Post `reply` to `channel`, tagged with `mark` where the platform keeps tags."""

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        """Whether a post tagged `mark` reached `channel` after `since` (Unix time).

        Asked before posting again after an attempt that died midway; None
        when the platform cannot answer just now.
        """

    async def person(self, email: str) -> str | None:
        """Where to post to reach the person with this e-mail directly (their user id on
        Slack), or None when the platform knows nobody by it; `Unavailable` when it cannot
        say just now."""

    async def close(self) -> None: ...


@runtime_checkable
class ManyTeams(Protocol):
    """An outbound that serves many Slack workspaces (OAuth installs): which ones it has
    served, and one workspace's own outbound (its token, its pace)."""

    async def teams(self) -> set[str]:
        """The workspaces (`team` keys) that have used Touchpoint, installed now or not."""

    def in_team(self, team: str) -> Outbound:
        """Posts, look-ups and pace in workspace `team`, whatever channel they name."""


def in_team(outbound: Outbound, team: str) -> Outbound:
    """`outbound` in workspace `team` when it serves many and `team` is known; else itself
    (which finds each channel's workspace, or has only one)."""
    if team and isinstance(outbound, ManyTeams):
        return outbound.in_team(team)
    return outbound


async def teams_of(outbound: Outbound | None) -> set[str]:
    """The workspaces `outbound` serves; none for one workspace, Teams and the console.
    Raises what its store raises."""
    if isinstance(outbound, ManyTeams):
        return await outbound.teams()
    return set()
