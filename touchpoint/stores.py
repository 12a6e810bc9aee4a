"""Which store holds the state: Redis when configured, so instances share it, else memory.

Kept apart from the server: `touchpoint stats` and `touchpoint prompt` open a store
without loading the web server or any platform's SDK.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from adapters.redis_clients import RedisTarget
from adapters.redis_store import RedisStore
from bot.memory_store import MemoryStore
from bot.store import Store
from touchpoint.settings import Settings


def store_notice(settings: Settings) -> tuple[int, str]:
    """The log level and line that say at start which store holds the state.

    Memory only is a warning: on a restart mutes, subscriptions, Teams conversation
    references and counts are gone, and instances do not share them. The Redis URL is
    shown without its password.
    """
    if settings.redis_sentinels:
        sentinels = ",".join(f"{host}:{port}" for host, port in settings.redis_sentinels)
        return logging.INFO, (f"store: Redis primary {settings.redis_sentinel_service!r} "
                              f"through the sentinels {sentinels} (prefix "
                              f"{settings.redis_prefix!r})")
    if not settings.redis_url:
        return logging.WARNING, (
            "store: this process's memory only (REDIS_URL is not set): mutes, channel "
            "subscriptions, Teams conversation references and usage counts are lost on "
            "restart and not shared with other instances")
    parsed = urlparse(settings.redis_url)
    if parsed.scheme == "unix":
        where = f"unix://{parsed.path}"
    else:
        host = f"[{parsed.hostname}]" if ":" in (parsed.hostname or "") else parsed.hostname
        where = f"{parsed.scheme}://{host}:{parsed.port or 6379}{parsed.path or '/0'}"
    kind = "Redis Cluster through" if settings.redis_cluster else "Redis at"
    return logging.INFO, f"store: {kind} {where} (prefix {settings.redis_prefix!r})"


def make_store(settings: Settings) -> Store:
    """Redis when configured, so instances share state; otherwise this process's memory."""
    if settings.uses_redis:
        target = RedisTarget(url=settings.redis_url, sentinels=settings.redis_sentinels,
                             service=settings.redis_sentinel_service,
                             cluster=settings.redis_cluster)
        return RedisStore.from_target(target, prefix=settings.redis_prefix)
    return MemoryStore()


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    """`make_store`'s store for one command, its connections closed when done."""
    store = make_store(settings)
    try:
        yield store
    finally:
        if isinstance(store, RedisStore):
            await store.close()
