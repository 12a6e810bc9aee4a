"""The bot's own posts (daily prompts, digests) when Touchpoint is installed in many workspaces.

Each channel's workspace is looked up (`ChannelTeams`), then that workspace's
bot token (the installation store), and the post goes out through a
`SlackOutbound` of that token; each workspace is paced on its own
(`pace_space`), as Slack rate-limits each workspace on its own.
"""

from __future__ import annotations

import logging

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from adapters.outbound import Result
from adapters.slack.installations import parse_team_key
from adapters.slack.outbound import SlackOutbound
from adapters.slack.web import API_TIMEOUT, web_client
from adapters.slack.workspaces import PLATFORM, ChannelTeams
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
        enterprise_id, team_id, org = parse_team_key(team)
        bot = await self._installations.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org)
        if bot is None or not bot.bot_token:
            return f"Touchpoint is not installed in workspace {team}"
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
        try:
            poster = await self._poster(channel)
        except Exception as exc:  # any store backend's failure: try again later
            return Result("retry", f"cannot read the installation ({type(exc).__name__})")
        if isinstance(poster, str):
            return Result("gone", poster)
        return await poster.send(channel, reply, mark)

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        try:
            poster = await self._poster(channel)
        except Exception:  # any store backend's failure: cannot say just now
            return None
        if isinstance(poster, str):
            return False
        return await poster.find(channel, mark, since)

    async def person(self, email: str) -> str | None:
        """An e-mail address does not say which workspace: call owners must be given as
        Slack user ids when Touchpoint serves many workspaces."""
        if not self._told_person:
            log.warning("slack: installed in many workspaces, a call's owner must be a Slack "
                        "user id, not an e-mail address")
            self._told_person = True
        return None

    async def close(self) -> None:
        for _, poster in self._posters.values():
            await poster.close()
        self._posters.clear()
