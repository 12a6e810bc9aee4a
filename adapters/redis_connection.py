"""How a store command reaches Redis: the client's timeouts, outages, and keys.

Kept apart from `redis_store` so the store reads as its keys and what each
reply means, while this module holds what every command goes through alike:
`RedisConnection.key` namespaces it under the prefix, and `RedisConnection.run`
sends it with the outage bookkeeping and hands back the raw reply to check.

Outages. The client reconnects by itself: redis-py retries a command once
after a dropped connection, which covers a pooled connection that died in a
restart, and short socket timeouts (1 s to answer, not retried) keep a hung
Redis from holding a request for long. After a connection failure every call
raises `StoreUnavailable` at once for `reconnect_interval` seconds instead of
letting every request wait on a timeout, then tries Redis again. Redis going
away is logged once, and so is its return.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from typing import cast

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from adapters.redis_clients import Client
from adapters.redis_clients import fail_fast_client as fail_fast_client
from bot.store import Clock, StoreCorrupt, StoreError, StoreRefused, StoreUnavailable

log = logging.getLogger("touchpoint.redis")

UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError,
               redis_errors.RedisClusterException)
"""Failures that say Redis could not be reached, as opposed to Redis refusing
a command; only these make the store degraded. The Cluster client's own errors
(no node answers, a slot no node serves) are not `RedisError`s, and mean the same."""


SLOTS = {"counters": "stats", "week": "stats", "claim": "claims", "claims": "claims",
         "outbox": "claims"}
"""The kinds of key a script reads together, by the hash tag that keeps them in one slot
of a Redis Cluster: a week's counts go with the all-time counters, a claim with its
attempt count and with the outbox that checks it."""


class RedisConnection:
    """One client under one key prefix, and whether Redis is reachable now.

    With `cluster`, the kinds in `SLOTS` get a hash tag after the prefix
    (`touchpoint:{claims}:claim:...`), so every multi-key script finds its keys
    in one slot; every other key spreads over the cluster. A single server keeps
    the untagged layout, so a deployment that does not move needs no migration.
    """

    def __init__(self, client: Client, prefix: str, *, reconnect_interval: float = 1.0,
                 clock: Clock = time.monotonic, cluster: bool = False,
                 others: Sequence[Client] = ()) -> None:
        if cluster and "{" in prefix:
            # The first "{" of a key starts its hash tag: one in the prefix would
            # move the tags the store places, and split a script's keys over slots.
            raise ValueError(f"a Redis Cluster key prefix cannot hold '{{' ({prefix!r})")
        self._client = client
        self._others = tuple(others)
        self._prefix = prefix
        self._cluster = cluster
        self._reconnect_interval = reconnect_interval
        self._clock = clock
        self._down: str | None = None
        self._down_since = 0.0
        self._retry_at = 0.0
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def prefix(self) -> str:
        return self._prefix

    def script(self, source: str) -> AsyncScript:
        """A Lua script on the client, made once per source; run it through `run`.

        redis-py types `AsyncScript` for the single-server client only, but it only
        calls EVALSHA and SCRIPT LOAD, which the Cluster client routes by key
        and sends to every node.
        """
        made = self._scripts.get(source)
        if made is None:
            made = self._scripts[source] = AsyncScript(cast("Redis", self._client), source)
        return made

    def key(self, kind: str, *parts: str, team: str = "") -> str:
        """`<prefix><kind>:<parts>`; a Slack workspace's own keys (`Store.for_team`) carry
        `@<team>` right after the kind, so the plain layout is the one workspace's."""
        tag = SLOTS.get(kind) if self._cluster else None
        head = f"{self._prefix}{{{tag}}}:{kind}" if tag else self._prefix + kind
        return ":".join((head, *((f"@{team}",) if team else ()), *parts))

    async def close(self) -> None:
        await self._client.aclose()
        for other in self._others:
            await other.aclose()

    async def health(self) -> str:
        """`ok`, or `degraded: <reason>` for `/healthz`; also a reconnect probe."""
        try:
            reply = await self.run(lambda c: c.ping())
        except StoreError as exc:
            return f"degraded: {exc}"
        if reply is not True:
            return f"degraded: unexpected PING reply {short(reply)}"
        return "ok"

    async def run(self, command: Callable[[Client], object]) -> object:
        """One command, with the outage bookkeeping around it.

        Returns the raw reply as `object`, so each caller has to check what
        Redis actually sent before using it (and raise `StoreCorrupt` when it
        does not parse). redis-py's errors leave as `StoreUnavailable` or
        `StoreRefused`; anything else the command raises is a bug, and goes
        through as it is.
        """
        if self._down is not None and self._clock() < self._retry_at:
            raise StoreUnavailable(self._down)
        try:
            reply = command(self._client)
            if inspect.isawaitable(reply):
                reply = await reply
        except UNREACHABLE as exc:
            self._mark_down(exc)
            raise StoreUnavailable(self._down or "redis unreachable") from exc
        except redis_errors.RedisError as exc:
            self._mark_up()
            raise StoreRefused(f"{type(exc).__name__}: {exc}") from exc
        self._mark_up()
        return reply

    async def read(self, command: Callable[[Client], object], key: str, treating: str) -> object:
        """A read of `key` whose refusal (a damaged key) is logged and answered as None.

        `treating` ends the log line: what the caller takes the key for instead.
        `StoreUnavailable` still goes through: an outage is not a missing key.
        """
        try:
            return await self.run(command)
        except StoreRefused as exc:
            log.warning("redis: cannot read %s (%s); treating %s", key, exc, treating)
            return None

    async def read_hash(self, key: str) -> dict[str, str]:
        """A hash as text; a damaged key or entry reads as missing, and is logged."""
        reply = await self.read(lambda c: c.hgetall(key), key, "it as empty")
        if reply is None:  # refused: HGETALL itself answers {} for a missing key
            return {}
        if not isinstance(reply, dict):
            log.warning("redis: HGETALL %s answered %s; treating it as empty", key, short(reply))
            return {}
        found: dict[str, str] = {}
        for field, value in reply.items():
            if not isinstance(field, bytes) or not isinstance(value, bytes):
                log.warning("redis: %s has an entry of unexpected type; skipped", key)
                continue
            try:
                found[field.decode()] = value.decode()
            except UnicodeDecodeError:
                log.warning("redis: %s has an entry that is not UTF-8 (%s); skipped",
                            key, short(field))
        return found

    def _mark_down(self, exc: BaseException) -> None:
        now = self._clock()
        reason = f"redis unreachable ({type(exc).__name__}: {short(str(exc), 300)})"
        if self._down is None:
            self._down_since = now
            log.warning("%s; dedupe and cooldowns fall back to this process, mutes, counters "
                        "and references are unavailable until it answers", reason)
        self._down = reason
        self._retry_at = now + self._reconnect_interval

    def _mark_up(self) -> None:
        if self._down is not None:
            log.warning("redis reachable again after %.1f s", self._clock() - self._down_since)
            self._down = None


def short(value: object, limit: int = 120) -> str:
    """A reply or value cut to fit one log line."""
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def int_reply(reply: object, what: str) -> int:
    """A script's or command's integer reply; anything else is `StoreCorrupt` (`what` names it)."""
    if isinstance(reply, bool) or not isinstance(reply, int):
        raise StoreCorrupt(f"unexpected {what} reply {short(reply)}")
    return reply
