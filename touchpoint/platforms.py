"""The chat platforms `touchpoint serve` can run: one line each, built from the settings.

Adding a platform is an adapter under `adapters/` that implements `Platform` and takes
its own config, the part of `Settings` that reads that config, and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters import slack, teams
from adapters.platform import Platform
from bot.handler import Handler
from bot.messages import Platform as PlatformName
from touchpoint.settings import Settings

Build = Callable[[Settings, Handler, bool], Platform | None]
"""A platform from the settings, the core's handler and whether `serve --socket-mode` was
asked for; None when the environment leaves it off."""

REGISTRY: tuple[tuple[PlatformName, Build], ...] = (
    ("teams", lambda settings, handler, _: teams.platform(handler, settings.teams)),
    ("slack", lambda settings, handler, socket_mode_only: slack.platform(
        handler, settings.slack, socket_mode_only=socket_mode_only)),
)
"""In the order they start; they stop in the reverse order."""


def enabled(settings: Settings, handler: Handler, *,
            socket_mode_only: bool = False) -> list[Platform]:
    """Every platform the environment turns on (each says in the log why it is on or off)."""
    found = []
    for _, build in REGISTRY:
        platform = build(settings, handler, socket_mode_only)
        if platform is not None:
            found.append(platform)
    return found
