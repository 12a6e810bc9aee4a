"""The stores behind Slack's OAuth install, made from the settings: in Redis when the
instances share Redis (so any instance can finish an install another started), else
in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from adapters.redis_clients import RedisTarget, open_client
from adapters.slack.installations import (
    InstallationStore,
    MemoryRecords,
    RedisRecords,
    StateStore,
    token_cipher,
)
from adapters.slack.oauth import SCOPES, Installs, OAuthConfig
from adapters.slack.workspaces import ChannelTeams
from touchpoint.settings import Settings

CONNECT_TIMEOUT = 0.5
TIMEOUT = 1.0

WORKSPACES_KEY: web.AppKey[ChannelTeams] = web.AppKey("slack-workspaces", ChannelTeams)
"""The workspaces Touchpoint has served, for the manager page's workspace picker."""


def installs_for(app: web.Application, settings: Settings) -> Installs:
    """Needs `settings.slack_install`; a Redis connection of its own is closed with `app`."""
    installs, close = _installs(settings)
    app[WORKSPACES_KEY] = installs.channels

    async def closing(_: web.Application) -> None:
        await close()

    app.on_cleanup.append(closing)
    return installs


@asynccontextmanager
async def opened_installs(settings: Settings) -> AsyncIterator[Installs]:
    """The installs for one command (`touchpoint prompt`), their connection closed after."""
    installs, close = _installs(settings)
    try:
        yield installs
    finally:
        await close()


def _installs(settings: Settings) -> tuple[Installs, Callable[[], Awaitable[None]]]:
    """The stores, and how to close the Redis connection they opened (if any)."""
    install = settings.slack_install
    assert install is not None
    config = OAuthConfig(install.client_id, install.client_secret,
                         scopes=install.scopes or SCOPES, redirect_uri=install.redirect_uri,
                         state_expiration=install.state_expiration)
    cipher = token_cipher(install.token_key)
    prefix = settings.redis_prefix
    if not settings.uses_redis:
        return Installs(config, InstallationStore(MemoryRecords(), cipher),
                        StateStore(None, prefix, install.state_expiration),
                        ChannelTeams(None, prefix)), _nothing
    opened = open_client(RedisTarget(url=settings.redis_url, sentinels=settings.redis_sentinels,
                                     service=settings.redis_sentinel_service,
                                     cluster=settings.redis_cluster),
                         connect_timeout=CONNECT_TIMEOUT, timeout=TIMEOUT)

    async def close() -> None:
        await opened.client.aclose()
        for other in opened.others:
            await other.aclose()

    client = opened.client
    return Installs(config, InstallationStore(RedisRecords(client, prefix), cipher),
                    StateStore(client, prefix, install.state_expiration),
                    ChannelTeams(client, prefix)), close


async def _nothing() -> None:
    return None
