"""Which Slack workspace each channel belongs to, when Touchpoint serves many.

Posts the bot starts itself name a channel and, when it was subscribed in chat,
its workspace; for the others (schedule.yaml, a call's channel) the workspace,
and so the token and the pace, come from here. Every request from Slack records
its channel's workspace, and the workspace itself among those Touchpoint has
served (`teams`: whose subscriptions the scheduler reads, and whose analytics
the manager page offers). An uninstalled workspace's subscribed channels are
flagged, which pauses their prompts; installing the app again lifts exactly
those flags.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis, RedisCluster

from adapters.slack.installations import ORG
from bot.channels import digest_space
from bot.store import Store

log = logging.getLogger("touchpoint.slack")

PLATFORM = "slack"
UNINSTALLED = "Touchpoint was uninstalled from workspace "
"""How a pause by uninstall is flagged; a reinstall lifts only flags that start so."""
NOT_INSTALLED = "Touchpoint is not installed in workspace "
"""Why a post to a workspace without a token failed (a schedule.yaml entry naming it, or a
channel subscribed after the uninstall's pause): flagged so, and lifted by an install too."""
KNOWN_LIMIT = 100_000
"""Channel-to-workspace pairs this process remembers having written."""


class ChannelTeams:
    """channel id -> workspace key (`team_key`), in Redis or in this process."""

    def __init__(self, client: Redis | RedisCluster | None, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._known: dict[str, str] = {}
        self._teams: set[str] = set()

    def _team_key(self) -> str:
        return f"{self._prefix}slack:channel-teams"

    def _teams_key(self) -> str:
        return f"{self._prefix}slack:teams"

    def _channels_key(self, team: str) -> str:
        return f"{self._prefix}slack:team-channels:{team}"

    async def remember(self, channel: str, team: str) -> None:
        if team and team not in self._teams:
            if self._client is not None:
                await self._client.sadd(self._teams_key(), team)
            self._teams.add(team)
        if not channel or not team or self._known.get(channel) == team:
            return
        if self._client is not None:
            old = await self._client.hget(self._team_key(), channel)
            await self._client.hset(self._team_key(), channel, team)
            if isinstance(old, bytes) and old.decode() != team:
                await self._client.srem(self._channels_key(old.decode()), channel)
            for key in _groups(team):
                await self._client.sadd(self._channels_key(key), channel)
        if len(self._known) >= KNOWN_LIMIT:
            self._known.clear()
        self._known[channel] = team

    async def team_of(self, channel: str) -> str | None:
        if self._client is None:
            return self._known.get(channel)
        found = await self._client.hget(self._team_key(), channel)
        return found.decode() if isinstance(found, bytes) else None

    async def teams(self) -> set[str]:
        """Every workspace a request came from (`team_key`s), installed now or not."""
        if self._client is None:
            return set(self._teams)
        found = await self._client.smembers(self._teams_key())
        return {m.decode() if isinstance(m, bytes) else str(m) for m in found}

    async def channels_of(self, team: str) -> set[str]:
        if self._client is None:
            return {channel for channel, known in self._known.items() if team in _groups(known)}
        found = await self._client.smembers(self._channels_key(team))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in found}


def _groups(team: str) -> tuple[str, ...]:
    """A workspace's channels are also its organisation's, which an org-wide install covers."""
    enterprise, _, _ = team.partition(":")
    org = f"{enterprise}:{ORG}"
    return (team, org) if enterprise not in ("", "-") and team != org else (team,)


async def _subscribed(store: Store) -> set[str]:
    """The channels with a daily prompt or a weekly digest made in chat."""
    return (set(await store.subscriptions(PLATFORM))
            | set(await store.subscriptions(digest_space(PLATFORM))))


async def _covered(channels: ChannelTeams, team: str) -> list[str]:
    """The workspace itself, and for an org-wide install every workspace of the org seen."""
    enterprise, _, _ = team.partition(":")
    if team != f"{enterprise}:{ORG}":
        return [team]
    return sorted({team} | {t for t in await channels.teams()
                            if t.partition(":")[0] == enterprise})


async def pause(store: Store, channels: ChannelTeams, team: str) -> int:
    """Flag the workspace's subscribed channels (prompts and digests alike, its own and
    those subscribed before subscriptions were kept per workspace): no posts there until
    the app is installed again. How many were paused."""
    mine = await channels.channels_of(team)
    paused = sorted(mine & await _subscribed(store))
    for channel in paused:
        await store.flag(PLATFORM, channel, UNINSTALLED + team)
    count = len(paused)
    for each in await _covered(channels, team):
        own = store.for_team(each)
        for channel in sorted(await _subscribed(own)):
            await own.flag(PLATFORM, channel, UNINSTALLED + team)
            count += 1
    return count


async def resume(store: Store, channels: ChannelTeams, team: str) -> int:
    """Lift the flags an uninstall of this workspace set, and those of posts that failed
    for want of its token. How many were lifted."""
    ours = {UNINSTALLED + team, NOT_INSTALLED + team}
    mine = await channels.channels_of(team)
    flagged = await store.flagged(PLATFORM)
    lifted = sorted(c for c in mine if flagged.get(c) in ours)
    for channel in lifted:
        await store.unflag(PLATFORM, channel)
    count = len(lifted)
    for each in await _covered(channels, team):
        own = store.for_team(each)
        for channel, why in sorted((await own.flagged(PLATFORM)).items()):
            if why in ours:
                await own.unflag(PLATFORM, channel)
                count += 1
    return count
