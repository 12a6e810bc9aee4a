"""What the manager pages read: the live handler and store, and the server's parts if any.

The pages are a sub-application of `touchpoint serve` (or the whole of
`touchpoint preview`); the parts they read are looked up per request, so the
pages work whichever of them the process has (no git follower in preview,
no scheduler before it starts).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.handler import Handler
from touchpoint.live import LIVE_KEY, LivePlaybooks
from touchpoint.settings import Settings


@dataclass(frozen=True)
class Context:
    handler: Handler
    """The live handler: its playbook set and its store (read by the pages; only signing out
    writes to it, the sign-in cookies' generation)."""
    settings: Settings
    preview: bool = False
    """`touchpoint preview`: an in-memory store and no platforms; nothing is ever posted."""


CONTEXT_KEY: web.AppKey[Context] = web.AppKey("web", Context)


def context(request: web.Request) -> Context:
    return request.config_dict[CONTEXT_KEY]


def live(request: web.Request) -> LivePlaybooks | None:
    return request.config_dict.get(LIVE_KEY)
