"""The bot's own posts (daily prompts, digests, call nudges) when Touchpoint is installed in
many workspaces.

A post names its workspace when it is known (a subscription made in chat, a route with
`slack_team`): `in_team` gives that workspace's outbound. Otherwise each channel's
workspace is looked up (`ChannelTeams`). Then that workspace's bot token comes from the
installation store, and the post goes out through a `SlackOutbound` of that token; each
workspace is paced on its own (`pace_space`), as Slack rate-limits each workspace on its
own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from adapters.outbound import Outbound, Result, Unavailable
from adapters.slack.installations import parse_team_key
from adapters.slack.outbound import SlackOutbound
from adapters.slack.web import API_TIMEOUT, web_client
from adapters.slack.workspaces import NOT_INSTALLED, PLATFORM, ChannelTeams
from bot.messages import Reply

log = logging.getLogger("touchpoint.slack")


class TeamOutbound:
    platform = PLATFORM

    def __init__(self, installations: AsyncInstallationStore, channels: ChannelTeams,
                 base_url: str, *, timeout: float = API_TIMEOUT) -> None:
        self._installations = installations
        self._channels = channels
        self._base_url = base_url
        self._timeout = timeout
        self._posters: dict[str, tuple[str, SlackOutbound]] = {}
        self._told_person = False

    async def teams(self) -> set[str]:
        return await self._channels.teams()

    def in_team(self, team: str) -> Outbound:
        return OneTeam(self, team)

    async def pace_space(self, channel: str) -> str:
        """`slack:<workspace>`: the shared rate's name for the channel's workspace."""
        team = await self._channels.team_of(channel)
        return f"{PLATFORM}:{team}" if team else PLATFORM

    async def _poster(self, channel: str) -> SlackOutbound | str:
        """The channel's workspace's poster, or why there is none."""
        team = await self._channels.team_of(channel)
        if team is None:
            return (f"no workspace is known for {channel}: say something to Touchpoint there "
                    "(e.g. /touchpoint help) so it learns which workspace the channel is in")
        return await self.poster(team)

    async def poster(self, team: str) -> SlackOutbound | str:
        """Workspace `team`'s poster (with its current token), or why there is none;
        raises what the installation store raises."""
        enterprise_id, team_id, org = parse_team_key(team)
        bot = await self._installations.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org)
        if bot is None or not bot.bot_token:
            return NOT_INSTALLED + team
        known = self._posters.get(team)
        if known is not None and known[0] == bot.bot_token:
            return known[1]
        if known is not None:
            await known[1].close()
        poster = SlackOutbound(web_client(bot.bot_token, self._base_url, timeout=self._timeout),
                               timeout=self._timeout, owns_client=True)
        self._posters[team] = (bot.bot_token, poster)
        return poster

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        return await _send(self._poster(channel), channel, reply, mark)

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        return await _find(self._poster(channel), channel, mark, since)

    async def person(self, email: str) -> str | None:
        """An e-mail address does not say which workspace: without `slack_team` in
        routing.yaml, call owners must be given as Slack user ids when Touchpoint serves
        many workspaces."""
        if not self._told_person:
            log.warning("slack: installed in many workspaces, a call's owner is found by "
                        "e-mail only in the workspace routing.yaml names (slack_team)")
            self._told_person = True
        return None

    async def close(self) -> None:
        for _, poster in self._posters.values():
            await poster.close()
        self._posters.clear()


class OneTeam:
    """One workspace's posts, look-ups and pace, through its installation's token; the
    `TeamOutbound` it came from keeps (and closes) the clients."""

    platform = PLATFORM

    def __init__(self, outbound: TeamOutbound, team: str) -> None:
        self._outbound = outbound
        self.team = team

    async def pace_space(self, channel: str) -> str:
        """`slack:<workspace>`, whichever channel."""
        return f"{PLATFORM}:{self.team}"

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        return await _send(self._outbound.poster(self.team), channel, reply, mark)

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        return await _find(self._outbound.poster(self.team), channel, mark, since)

    async def person(self, email: str) -> str | None:
        """users.lookupByEmail with this workspace's token; None when it is not installed."""
        try:
            poster = await self._outbound.poster(self.team)
        except Exception as exc:  # any store backend's failure: ask again later
            raise Unavailable(f"cannot read the installation ({type(exc).__name__})") from None
        if isinstance(poster, str):
            log.warning("slack: cannot find a call's owner by e-mail: %s", poster)
            return None
        return await poster.person(email)

    async def close(self) -> None:
        return None


async def _send(finding: Awaitable[SlackOutbound | str], channel: str, reply: Reply,
                mark: str) -> Result:
    try:
        poster = await finding
    except Exception as exc:  # any store backend's failure: try again later
        return Result("retry", f"cannot read the installation ({type(exc).__name__})")
    if isinstance(poster, str):
        return Result("gone", poster)
    return await poster.send(channel, reply, mark)


async def _find(finding: Awaitable[SlackOutbound | str], channel: str, mark: str,
                since: float) -> bool | None:
    try:
        poster = await finding
    except Exception:  # any store backend's failure: cannot say just now
        return None
    if isinstance(poster, str):
        return False
    return await poster.find(channel, mark, since)
