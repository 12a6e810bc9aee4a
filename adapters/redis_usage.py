"""The `Usage` role in Redis: counters, each ISO week's counts, questions and corrections.

Keys (`redis_store` lists them all): `counters` and `week:<YYYY-Www>`, hashes
of integers written by one script so a count and its week's count move
together; `questions:<YYYY-Www>` and `corrections:<YYYY-Www>`, capped lists,
newest first, each expiring the TTL its latest write gives.
"""

from __future__ import annotations

import logging
import math

from adapters import redis_scripts
from adapters.redis_connection import RedisConnection, int_reply, short
from bot.store import QUESTIONS_TTL, WEEKS_KEPT, StoreCorrupt

log = logging.getLogger("touchpoint.redis")

WEEK_TTL = WEEKS_KEPT * 7 * 86400


class RedisUsage:
    """Counts and the week's lists; mixed into `RedisStore`, which sets `_redis`."""

    _redis: RedisConnection
    _team: str
    """The Slack workspace these counts are kept for (`RedisStore.for_team`); "" for one."""

    def _usage_key(self, kind: str, *parts: str) -> str:
        return self._redis.key(kind, *parts, team=self._team)

    async def incr_counts(self, week: str, counter: str, amount: int = 1) -> tuple[int, int]:
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.INCR_WEEK)(
            keys=[self._usage_key("week", week), self._usage_key("counters")],
            args=[counter, amount, WEEK_TTL]))
        if not isinstance(reply, list) or len(reply) != 2:
            raise StoreCorrupt(f"unexpected counting reply {short(reply)}")
        return int_reply(reply[0], "HINCRBY"), int_reply(reply[1], "weekly HINCRBY")

    async def counters(self, prefix: str = "") -> dict[str, int]:
        return await self._int_hash(self._usage_key("counters"), prefix,
                                    skipped="redis: counter %r holds %s, not an integer; skipped")

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.INCR_WEEK)(
            keys=[self._usage_key("week", week)], args=[counter, amount, WEEK_TTL]))
        return int_reply(reply, "weekly HINCRBY")

    async def week_counters(self, week: str) -> dict[str, int]:
        return await self._int_hash(self._usage_key("week", week),
                                    skipped="redis: weekly counter %r of %s holds %s; skipped",
                                    about=(week,))

    async def add_question(self, week: str, text: str, keep: int,
                           ttl: float = QUESTIONS_TTL) -> None:
        await self._push_latest("questions", week, text, keep, ttl)

    async def questions(self, week: str, limit: int) -> list[str]:
        return await self._latest("questions", week, limit)

    async def add_correction(self, week: str, entry: str, keep: int,
                             ttl: float = QUESTIONS_TTL) -> None:
        await self._push_latest("corrections", week, entry, keep, ttl)

    async def corrections(self, week: str, limit: int) -> list[str]:
        return await self._latest("corrections", week, limit)

    async def _push_latest(self, kind: str, week: str, entry: str, keep: int,
                           ttl: float) -> None:
        """One week's list, newest first, cut to `keep` and expiring `ttl` seconds on."""
        seconds = max(1, math.ceil(ttl)) if math.isfinite(ttl) else WEEK_TTL
        await self._redis.run(lambda c: self._redis.script(redis_scripts.ADD_QUESTION)(
            keys=[self._usage_key(kind, week)], args=[entry, max(1, keep), seconds]))

    async def _latest(self, kind: str, week: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        key = self._usage_key(kind, week)
        reply = await self._redis.read(lambda c: c.lrange(key, 0, limit - 1), key, "it as empty")
        if not isinstance(reply, list):
            return []
        return [item.decode(errors="replace") for item in reply if isinstance(item, bytes)]

    async def _int_hash(self, key: str, prefix: str = "", *, skipped: str,
                        about: tuple[object, ...] = ()) -> dict[str, int]:
        """The entries of a hash of integers whose names start with `prefix`, by name.

        An entry that is not an integer is left out and logged with `skipped`,
        formatted with its name, then `about`, then the value.
        """
        found: dict[str, int] = {}
        for name, raw in (await self._redis.read_hash(key)).items():
            if not name.startswith(prefix):
                continue
            try:
                found[name] = int(raw)
            except ValueError:
                log.warning(skipped, name, *about, short(raw))
        return dict(sorted(found.items()))
