"""What `/healthz` reports, filled by whatever the server runs (a store, each platform)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Health:
    """What `/healthz` reports: each part says `ok` or why it is degraded."""

    parts: dict[str, Callable[[], Awaitable[str]]] = field(default_factory=dict)

    async def report(self) -> dict[str, str]:
        return {name: await check() for name, check in self.parts.items()}


HEALTH_KEY: web.AppKey[Health] = web.AppKey("health", Health)
