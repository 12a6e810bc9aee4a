"""The chat platforms `touchpoint serve` can run: one line each, built from the settings.

Adding a platform is an adapter under `adapters/` that implements `Platform` and takes
its own config, the part of `Settings` that reads that config, and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from adapters.platform import Platform
from adapters.slack import app as slack
from adapters.teams import app as teams
from bot.handler import Handler
from bot.messages import Platform as PlatformName
from touchpoint.settings import Settings
from touchpoint.slack_installs import installs_for

Build = Callable[[web.Application, Settings, Handler, bool], Platform | None]
"""A platform for the app from the settings, the core's handler and whether `serve
--socket-mode` was asked for; None when the environment leaves it off."""


def _slack(app: web.Application, settings: Settings, handler: Handler,
           socket_mode_only: bool) -> Platform | None:
    """With `SLACK_CLIENT_ID`..., installed in many workspaces, whose stores close with `app`."""
    installs = installs_for(app, settings) if settings.slack_install is not None else None
    return slack.platform(handler, settings.slack, installs=installs,
                          socket_mode_only=socket_mode_only)


REGISTRY: tuple[tuple[PlatformName, Build], ...] = (
    ("teams", lambda app, settings, handler, _: teams.platform(handler, settings.teams)),
    ("slack", _slack),
)
"""In the order they start; they stop in the reverse order."""


def enabled(app: web.Application, settings: Settings, handler: Handler, *,
            socket_mode_only: bool = False) -> list[Platform]:
    """Every platform the environment turns on (each says in the log why it is on or off)."""
    found = []
    for _, build in REGISTRY:
        platform = build(app, settings, handler, socket_mode_only)
        if platform is not None:
            found.append(platform)
    return found
