"""The `PostLedger` and `Pacing` roles in Redis: each post made once, at a shared rate.

Keys (`redis_store` lists them all): `claim:<key>`, a lease or an outcome;
`claims:<key>`, its attempt count; `outbox`, the call nudges waiting to be
posted; `pace:<key>`, the next free slot of a shared rate. A claim, its count
and the outbox are read by one script, so in a Cluster they share a slot.
"""

from __future__ import annotations

import logging
import math

from adapters import redis_scripts
from adapters.redis_connection import RedisConnection, int_reply, short
from bot.store import Claim, Queued, StoreCorrupt

log = logging.getLogger("touchpoint.redis")


class RedisPostLedger:
    """Claims and the outbox; mixed into `RedisStore`, which sets `_redis`."""

    _redis: RedisConnection

    async def claim(self, key: str, token: str, lease: float, keep: float) -> Claim:
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.CLAIM)(
            keys=[self._redis.key("claim", key), self._redis.key("claims", key)],
            args=[token, millis(lease), millis(keep)]))
        if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[0], bytes):
            state, detail = reply[0].decode(errors="replace"), reply[1]
            if state == "mine" and isinstance(detail, int) and not isinstance(detail, bool):
                return Claim("mine", attempt=detail)
            if state == "settled" and isinstance(detail, bytes):
                return Claim("settled", outcome=detail.decode(errors="replace"))
            if state == "held":
                return Claim("held")
        raise StoreCorrupt(f"unexpected claim reply {short(reply)}")

    async def renew(self, key: str, token: str, lease: float) -> bool:
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.RENEW)(
            keys=[self._redis.key("claim", key)], args=[token, millis(lease)]))
        return reply == 1

    async def settle(self, key: str, outcome: str, keep: float) -> None:
        await self._redis.run(lambda c: c.set(self._redis.key("claim", key), f"done:{outcome}",
                                              px=millis(keep)))

    async def release(self, key: str, token: str) -> None:
        await self._redis.run(lambda c: self._redis.script(redis_scripts.RELEASE)(
            keys=[self._redis.key("claim", key)], args=[token]))

    async def outbox_put(self, key: str, entry: str, limit: int) -> Queued:
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.OUTBOX_PUT)(
            keys=[self._redis.key("outbox"), self._redis.key("claim", key)],
            args=[key, entry, max(0, limit)]))
        if reply == b"added":
            return "added"
        if reply == b"known":
            return "known"
        if reply == b"full":
            return "full"
        raise StoreCorrupt(f"unexpected outbox reply {short(reply)}")

    async def outbox(self, limit: int) -> dict[str, str]:
        if limit <= 0:
            return {}
        key = self._redis.key("outbox")
        reply = await self._redis.read(lambda c: c.hrandfield(key, limit, withvalues=True),
                                       key, "it as empty")
        if not isinstance(reply, list):
            return {}
        if len(reply) % 2:
            raise StoreCorrupt(f"HRANDFIELD {key} answered an odd list {short(reply)}")
        found: dict[str, str] = {}
        for name, value in zip(reply[::2], reply[1::2], strict=True):
            try:
                found[name.decode()] = value.decode()
            except (AttributeError, UnicodeDecodeError):
                log.warning("redis: %s holds %s: %s, not text; skipped", key, short(name),
                            short(value))
        return found

    async def outbox_drop(self, key: str) -> None:
        await self._redis.run(lambda c: c.hdel(self._redis.key("outbox"), key))


class RedisPacing:
    """A rate shared by every instance, in Redis's clock; mixed into `RedisStore`."""

    _redis: RedisConnection

    async def reserve(self, key: str, interval: float, after: float = 0.0,
                      longest: float = math.inf) -> float:
        furthest = round(longest * 1_000_000) if math.isfinite(longest) else 0
        micros = [max(0, round(interval * 1_000_000)), max(0, round(after * 1_000_000)),
                  max(0, furthest)]
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.RESERVE)(
            keys=[self._redis.key("pace", key)], args=micros))
        if not isinstance(reply, list) or len(reply) != 2:
            raise StoreCorrupt(f"unexpected pacing reply {short(reply)}")
        if reply[1]:
            log.warning("redis: %s held a slot further away than the %g s any instance books "
                        "(%s); a damaged key, started over", self._redis.key("pace", key),
                        longest, short(reply[1]))
        return max(0.0, int_reply(reply[0], "pacing") / 1_000_000)


def millis(seconds: float) -> int:
    """A TTL in Redis's milliseconds; a TTL that is not positive and finite is a bug."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a TTL must be a positive, finite number of seconds, not {seconds}")
    return max(1, math.ceil(seconds * 1000))
