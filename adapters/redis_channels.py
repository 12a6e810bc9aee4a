"""The `Subscriptions` and `References` roles in Redis: what each channel gets, and where it is.

Keys (`redis_store` lists them all): `subs:<platform>`, `flags:<platform>` and
`refs:<platform>`, hashes by channel or conversation id; `rotation:<channel>`,
the prompts a channel has had this round.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters import redis_scripts
from adapters.redis_connection import RedisConnection, short
from bot.store import StoreCorrupt


class RedisSubscriptions:
    """Scheduled posts by channel; mixed into `RedisStore`, which sets `_redis`."""

    _redis: RedisConnection
    _team: str
    """The Slack workspace these are kept for (`RedisStore.for_team`); "" for one."""

    def _subs_key(self, kind: str, *parts: str) -> str:
        return self._redis.key(kind, *parts, team=self._team)

    async def subscribe(self, platform: str, channel: str, spec: str) -> None:
        await self._redis.run(lambda c: c.hset(self._subs_key("subs", platform), channel, spec))

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        reply = await self._redis.run(lambda c: c.hdel(self._subs_key("subs", platform), channel))
        return reply == 1

    async def subscriptions(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._subs_key("subs", platform))

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        await self._redis.run(lambda c: c.hset(self._subs_key("flags", platform), channel, reason))

    async def unflag(self, platform: str, channel: str) -> None:
        await self._redis.run(lambda c: c.hdel(self._subs_key("flags", platform), channel))

    async def flagged(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._subs_key("flags", platform))

    async def pick_prompt(self, channel: str, day: str, prompts: Sequence[str]) -> str:
        if not prompts:
            return ""
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.PICK_PROMPT)(
            keys=[self._subs_key("rotation", channel)], args=[day, *prompts]))
        pick = reply.decode(errors="replace") if isinstance(reply, bytes) else ""
        if pick not in prompts:
            raise StoreCorrupt(f"unexpected rotation reply {short(reply)}")
        return pick


class RedisReferences:
    """Where each conversation is; mixed into `RedisStore`, which sets `_redis`."""

    _redis: RedisConnection

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        key = self._redis.key("refs", platform)
        await self._redis.run(lambda c: c.hset(key, conversation, reference))

    async def drop_reference(self, platform: str, conversation: str) -> None:
        await self._redis.run(lambda c: c.hdel(self._redis.key("refs", platform), conversation))

    async def references(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._redis.key("refs", platform))
