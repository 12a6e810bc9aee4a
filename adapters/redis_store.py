"""The `Store` in Redis, so several Touchpoint instances share one state.

Chosen when `REDIS_URL` is set. Every method is one atomic Redis step, so
instances never need a lock around a read-then-write.

Key layout (all under the configured prefix, default `touchpoint:`), which
two versions of Touchpoint must agree on during a rolling deploy:

- `once:<key>`: a string with a TTL, for `first_time` (delivery ids,
  nudge cooldowns, and later one post per channel and day). The only
  temporary keys; each is written with its TTL in the same step.
- `mute:<user>`: the string `1` while a person is muted. One key per person,
  so a damaged key only affects that person and `SET` repairs it.
- `counters`: a hash of counter name to integer (`HINCRBY`); one `HGETALL`
  reads a consistent snapshot for reports, without scanning the keyspace.
- `refs:<platform>`: a hash of conversation id to serialised reference.
- `week:<YYYY-Www>`: a hash of counter name to integer for one ISO week, and
  `questions:<YYYY-Www>`: a list of that week's unanswered questions (no user
  ids), newest first, capped with `LTRIM`. Both expire `WEEKS_KEPT` weeks after
  their last write, so analytics cannot grow without bound.
- `value:<name>`: a small shared string, e.g. `value:playbooks-commit`, the
  playbook commit every instance converges on.

Later parts (channel subscriptions, each channel's prompt rotation) add
their own kinds through `_key` and `_run`, and so get the same namespacing,
reply validation and outage handling. The daily prompt's "one post per
channel and day" must not use `first_time`'s in-process fallback described
below (every instance would post): it wants the same script through `_run`,
letting `StoreUnavailable` through so the run is retried within its grace.

Outages. The client reconnects by itself: redis-py retries a command once
after a dropped connection, which covers a pooled connection that died in a
restart, and short socket timeouts (1 s to answer, not retried) keep a hung
Redis from holding a request for long. After a connection failure the store
answers "unavailable" at once for `reconnect_interval` seconds instead of
letting every request wait on a timeout, then tries Redis again. Calls then
raise `StoreUnavailable`, which the handler turns into its degraded
behaviour, except `first_time`: while Redis is down it answers from a small
in-process `MemoryStore` that also remembers every key this process saw
while Redis was up. A platform's retry storm during an outage is therefore
still answered once per instance, where answering `True` blindly would post
every retry. Those in-process marks are not written back to Redis
afterwards: a retry that lands on another instance may be answered twice,
which is the visible price of an outage (logged once when Redis goes away and
once when it is back, and shown in `/healthz` meanwhile).

Nothing stored is ever removed to recover: no FLUSH, no deleting a key of the
wrong type. A damaged value under one of our keys is logged and read as
missing; a write that cannot land on it raises `StoreError`. A `once:` key
holding anything at all counts as seen (it is given a TTL if it lacks one).

Redis itself must keep what it is given: run it with the append-only file
and a `noeviction` (or `volatile-*`) maxmemory policy, or a restart or memory
pressure can drop mutes, counters and references that no TTL covers.

Counters are at-least-once: if a reply is lost after Redis applied an
increment, the retry applies it again. `first_time` does not have that
problem: each call writes a unique token, and a retry that finds its own
token knows the first attempt succeeded.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from adapters import redis_scripts
from bot.store import WEEKS_KEPT, Claim, Clock, MemoryStore

log = logging.getLogger("touchpoint.redis")

DEFAULT_PREFIX = "touchpoint:"

MUTED = b"1"

FIRST_TIME = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
"""SET NX with a TTL, plus two things plain SET NX cannot do in the same step:
recognise our own earlier attempt (a retry after a lost reply must still say
"first"), and give a key that somehow lost its TTL one, so it cannot block a
delivery id or a cooldown forever."""

INCR_WEEK = """
local value = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return value
"""
"""A weekly counter and its expiry in one step, so no week key is left without a TTL."""

ADD_QUESTION = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
"""Push, cap and expire in one step: the list never holds more than `keep` questions."""

WEEK_TTL = WEEKS_KEPT * 7 * 86400

UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
"""Failures that say Redis could not be reached, as opposed to Redis refusing
a command; only these make the store degraded."""


class StoreError(Exception):
    """Redis answered, but the command could not be done (a damaged key)."""


class StoreUnavailable(StoreError):
    """Redis cannot be reached right now; the store reconnects by itself."""


class RedisStore:
    """The shared `Store`; see the module docstring for keys and outages."""

    def __init__(
        self,
        client: Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        reconnect_interval: float = 1.0,
        clock: Clock = time.monotonic,
        local_keys: int = 100_000,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._reconnect_interval = reconnect_interval
        self._clock = clock
        self._local = MemoryStore(clock=clock, max_keys=local_keys)
        self._first_time = client.register_script(FIRST_TIME)
        self._claim = client.register_script(redis_scripts.CLAIM)
        self._renew = client.register_script(redis_scripts.RENEW)
        self._release = client.register_script(redis_scripts.RELEASE)
        self._pick_prompt = client.register_script(redis_scripts.PICK_PROMPT)
        self._reserve = client.register_script(redis_scripts.RESERVE)
        self._incr_week = client.register_script(INCR_WEEK)
        self._add_question = client.register_script(ADD_QUESTION)
        self._down: str | None = None
        self._down_since = 0.0
        self._retry_at = 0.0

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        connect_timeout: float = 0.5,
        timeout: float = 1.0,
        reconnect_interval: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> RedisStore:
        """A store with a client tuned to fail fast and heal by itself.

        redis-py's default retry backs off for up to ten seconds, long enough
        for Slack to give up on a request. Here a dropped connection is
        retried once at once, which gets past a connection that died in a
        Redis restart; a timeout is not retried, since a Redis that did not
        answer within `timeout` will not answer the retry sooner, and the
        command may have run. The health check pings a connection that sat
        idle, so a restart is noticed before a command goes to a dead socket.
        """
        client = Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1,
                        supported_errors=(redis_errors.ConnectionError,)),
            health_check_interval=10,
        )
        return cls(client, prefix, reconnect_interval=reconnect_interval, clock=clock)

    @property
    def prefix(self) -> str:
        return self._prefix

    async def close(self) -> None:
        await self._client.aclose()

    async def health(self) -> str:
        """`ok`, or `degraded: <reason>` for `/healthz`; also a reconnect probe."""
        try:
            reply = await self._run(lambda c: c.ping())
        except StoreError as exc:
            return f"degraded: {exc}"
        if reply is not True:
            return f"degraded: unexpected PING reply {_short(reply)}"
        return "ok"

    # The Store protocol

    async def first_time(self, key: str, ttl: float) -> bool:
        if math.isinf(ttl):
            raise ValueError("first_time needs a finite ttl: every temporary key expires")
        if not ttl > 0:
            # The memory store remembers nothing for a TTL of zero (a cooldown
            # switched off), and PX would reject it.
            return True
        milliseconds = max(1, math.ceil(ttl * 1000))
        token = uuid.uuid4().hex
        try:
            reply = await self._run(lambda c: self._first_time(
                keys=[self._key("once", key)], args=[token, milliseconds], client=c))
        except StoreError as exc:
            if not isinstance(exc, StoreUnavailable):
                log.warning("redis: first_time refused (%s); deduplicating in this process", exc)
            return await self._local.first_time(key, ttl)
        await self._local.first_time(key, ttl)
        if isinstance(reply, bool) or reply not in (0, 1):
            log.warning("redis: unexpected first_time reply %s for %r; treating as first",
                        _short(reply), key)
            return True
        return reply == 1

    async def set_muted(self, user: str, muted: bool) -> None:
        key = self._key("mute", user)
        if muted:
            await self._run(lambda c: c.set(key, MUTED))
        else:
            await self._run(lambda c: c.delete(key))

    async def is_muted(self, user: str) -> bool:
        key = self._key("mute", user)
        try:
            reply = await self._run(lambda c: c.get(key))
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("redis: cannot read %s (%s); treating %r as not muted", key, exc, user)
            return False
        if reply is None:
            return False
        if reply != MUTED:
            log.warning("redis: %s holds %s, not %r; treating %r as not muted",
                        key, _short(reply), MUTED, user)
            return False
        return True

    async def incr(self, counter: str, amount: int = 1) -> int:
        reply = await self._run(lambda c: c.hincrby(self._key("counters"), counter, amount))
        if isinstance(reply, bool) or not isinstance(reply, int):
            raise StoreError(f"unexpected HINCRBY reply {_short(reply)}")
        return reply

    async def counters(self, prefix: str = "") -> dict[str, int]:
        found: dict[str, int] = {}
        for name, raw in (await self._read_hash(self._key("counters"))).items():
            if not name.startswith(prefix):
                continue
            try:
                found[name] = int(raw)
            except ValueError:
                log.warning("redis: counter %r holds %s, not an integer; skipped",
                            name, _short(raw))
        return dict(sorted(found.items()))

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        await self._run(lambda c: c.hset(self._key("refs", platform), conversation, reference))

    async def drop_reference(self, platform: str, conversation: str) -> None:
        await self._run(lambda c: c.hdel(self._key("refs", platform), conversation))

    async def references(self, platform: str) -> dict[str, str]:
        return await self._read_hash(self._key("refs", platform))

    # Analytics and playbook versions

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        reply = await self._run(lambda c: self._incr_week(
            keys=[self._key("week", week)], args=[counter, amount, WEEK_TTL], client=c))
        if isinstance(reply, bool) or not isinstance(reply, int):
            raise StoreError(f"unexpected weekly HINCRBY reply {_short(reply)}")
        return reply

    async def week_counters(self, week: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for name, raw in (await self._read_hash(self._key("week", week))).items():
            try:
                found[name] = int(raw)
            except ValueError:
                log.warning("redis: weekly counter %r of %s holds %s; skipped",
                            name, week, _short(raw))
        return dict(sorted(found.items()))

    async def add_question(self, week: str, text: str, keep: int) -> None:
        await self._run(lambda c: self._add_question(
            keys=[self._key("questions", week)], args=[text, max(1, keep), WEEK_TTL],
            client=c))

    async def questions(self, week: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        key = self._key("questions", week)
        try:
            reply = await self._run(lambda c: c.lrange(key, 0, limit - 1))
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("redis: cannot read %s (%s); treating it as empty", key, exc)
            return []
        if not isinstance(reply, list):
            return []
        return [item.decode(errors="replace") for item in reply if isinstance(item, bytes)]

    async def set_value(self, name: str, value: str) -> None:
        await self._run(lambda c: c.set(self._key("value", name), value))

    async def get_value(self, name: str) -> str | None:
        key = self._key("value", name)
        try:
            reply = await self._run(lambda c: c.get(key))
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("redis: cannot read %s (%s); treating it as unset", key, exc)
            return None
        if not isinstance(reply, bytes):
            return None
        try:
            return reply.decode()
        except UnicodeDecodeError:
            log.warning("redis: %s is not UTF-8 (%s); treating it as unset", key, _short(reply))
            return None

    # The daily prompt

    async def subscribe(self, platform: str, channel: str, spec: str) -> None:
        await self._run(lambda c: c.hset(self._key("subs", platform), channel, spec))

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        reply = await self._run(lambda c: c.hdel(self._key("subs", platform), channel))
        return reply == 1

    async def subscriptions(self, platform: str) -> dict[str, str]:
        return await self._read_hash(self._key("subs", platform))

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        await self._run(lambda c: c.hset(self._key("flags", platform), channel, reason))

    async def unflag(self, platform: str, channel: str) -> None:
        await self._run(lambda c: c.hdel(self._key("flags", platform), channel))

    async def flagged(self, platform: str) -> dict[str, str]:
        return await self._read_hash(self._key("flags", platform))

    async def pick_prompt(self, channel: str, day: str, prompts: Sequence[str]) -> str:
        if not prompts:
            return ""
        reply = await self._run(lambda c: self._pick_prompt(
            keys=[self._key("rotation", channel)], args=[day, *prompts], client=c))
        pick = reply.decode(errors="replace") if isinstance(reply, bytes) else ""
        if pick not in prompts:
            raise StoreError(f"unexpected rotation reply {_short(reply)}")
        return pick

    async def claim(self, key: str, token: str, lease: float, keep: float) -> Claim:
        reply = await self._run(lambda c: self._claim(
            keys=[self._key("claim", key), self._key("claims", key)],
            args=[token, _millis(lease), _millis(keep)], client=c))
        if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[0], bytes):
            state, detail = reply[0].decode(), reply[1]
            if state == "mine" and isinstance(detail, int) and not isinstance(detail, bool):
                return Claim("mine", attempt=detail)
            if state == "settled" and isinstance(detail, bytes):
                return Claim("settled", outcome=detail.decode(errors="replace"))
            if state == "held":
                return Claim("held")
        raise StoreError(f"unexpected claim reply {_short(reply)}")

    async def renew(self, key: str, token: str, lease: float) -> bool:
        reply = await self._run(lambda c: self._renew(
            keys=[self._key("claim", key)], args=[token, _millis(lease)], client=c))
        return reply == 1

    async def settle(self, key: str, outcome: str, keep: float) -> None:
        await self._run(lambda c: c.set(self._key("claim", key), f"done:{outcome}",
                                        px=_millis(keep)))

    async def release(self, key: str, token: str) -> None:
        await self._run(lambda c: self._release(keys=[self._key("claim", key)], args=[token],
                                                client=c))

    async def reserve(self, key: str, interval: float, after: float = 0.0) -> float:
        micros = [max(0, round(interval * 1_000_000)), max(0, round(after * 1_000_000))]
        reply = await self._run(lambda c: self._reserve(
            keys=[self._key("pace", key)], args=micros, client=c))
        if isinstance(reply, bool) or not isinstance(reply, int):
            raise StoreError(f"unexpected pacing reply {_short(reply)}")
        return max(0.0, reply / 1_000_000)

    # The plumbing every command goes through

    def _key(self, kind: str, *parts: str) -> str:
        return ":".join((self._prefix + kind, *parts))

    async def _run(self, command: Callable[[Redis], object]) -> object:
        """One command, with the outage bookkeeping around it.

        Returns the raw reply as `object`, so each caller has to check what
        Redis actually sent before using it.
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
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc
        self._mark_up()
        return reply

    async def _read_hash(self, key: str) -> dict[str, str]:
        """A hash as text; a damaged key or entry reads as missing, and is logged."""
        try:
            reply = await self._run(lambda c: c.hgetall(key))
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("redis: cannot read %s (%s); treating it as empty", key, exc)
            return {}
        if not isinstance(reply, dict):
            log.warning("redis: HGETALL %s answered %s; treating it as empty", key, _short(reply))
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
                            key, _short(field))
        return found

    def _mark_down(self, exc: BaseException) -> None:
        now = self._clock()
        reason = f"redis unreachable ({type(exc).__name__}: {_short(str(exc))})"
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


def _millis(seconds: float) -> int:
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a TTL must be a positive, finite number of seconds, not {seconds}")
    return max(1, math.ceil(seconds * 1000))


def _short(value: object, limit: int = 120) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."
