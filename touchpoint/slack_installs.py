"""The stores behind Slack's OAuth install, made from the settings: in Redis when the
instances share Redis (so any instance can finish an install another started), else
in this process."""

from __future__ import annotations

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


def installs_for(app: web.Application, settings: Settings) -> Installs:
    """Needs `settings.slack_install`; a Redis connection of its own is closed with `app`."""
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
                        ChannelTeams(None, prefix))
    opened = open_client(RedisTarget(url=settings.redis_url, sentinels=settings.redis_sentinels,
                                     service=settings.redis_sentinel_service,
                                     cluster=settings.redis_cluster),
                         connect_timeout=CONNECT_TIMEOUT, timeout=TIMEOUT)

    async def close(_: web.Application) -> None:
        await opened.client.aclose()
        for other in opened.others:
            await other.aclose()

    app.on_cleanup.append(close)
    client = opened.client
    return Installs(config, InstallationStore(RedisRecords(client, prefix), cipher),
                    StateStore(client, prefix, install.state_expiration),
                    ChannelTeams(client, prefix))
