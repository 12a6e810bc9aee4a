"""What the server asks of every chat platform: the one shape Slack and Teams share.

A platform is one package under `adapters/` whose adapter takes its own
config, and one line in `touchpoint/platforms.py` that builds it from the settings.
The server iterates those lines and asks each platform only for what is below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from adapters.health import HEALTH_KEY
from adapters.outbound import Outbound
from bot.messages import Platform as PlatformName
from bot.store import Store


class Platform(Protocol):
    name: PlatformName

    def attach(self, app: web.Application) -> None:
        """Add this platform's routes to the one server."""

    def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """Start with the server, and stop with it (an aiohttp `cleanup_ctx`): finish the
        answers already taken, then let go of every connection."""

    async def health(self) -> str:
        """`ok`, or why `/healthz` should say this platform is degraded."""

    def outbound(self, store: Store) -> Outbound:
        """A poster for the bot's own posts (daily prompts, call nudges), closed by its caller."""


def serve(app: web.Application, platform: Platform) -> None:
    """Put `platform` on the server: its routes, its `/healthz` part, its lifespan."""
    platform.attach(app)
    app[HEALTH_KEY].parts[platform.name] = platform.health
    app.cleanup_ctx.append(platform.lifespan)
