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
  Each count also goes to the week's hash (below), in the same script.
- `refs:<platform>`: a hash of conversation id to serialised reference.
- `week:<YYYY-Www>`: a hash of counter name to integer for one ISO week, and
  `questions:<YYYY-Www>`: a list of that week's unanswered questions (no user
  ids), newest first, capped with `LTRIM`. The week's hash expires `WEEKS_KEPT`
  weeks after its last write, so analytics cannot grow without bound; the
  questions, people's own words, after the TTL each write gives
  (`TOUCHPOINT_QUESTIONS_DAYS`). `corrections:<YYYY-Www>` likewise holds the
  week's answered "Not helpful" forms (JSON, no user ids), kept as long.
- `value:<name>`: a small shared string, e.g. `value:playbooks-commit`, the
  playbook commit every instance converges on.
- `nudges-off:<platform>`: a hash of channel id to who switched that channel's
  nudges off (`/touchpoint nudges off`); `HEXISTS` on it is the nudge path's check.
- `outbox`: a hash of delivery key (`call:gong:<call id>`, ...) to the accepted
  call nudge (JSON), written before the sender is answered and removed once its
  `claim:<delivery key>` is settled. No TTL: an accepted nudge waits for as
  long as it takes Slack or Teams to take it.

In a Redis Cluster (`REDIS_CLUSTER=1`) the keys a script reads together carry a hash
tag after the prefix, `{stats}` for `counters` and `week:`, `{claims}` for `claim:`,
`claims:` and `outbox` (see `redis_connection.SLOTS`), so each script's keys share a slot;
one server and Sentinel keep the layout above unchanged.

Later parts (channel subscriptions, each channel's prompt rotation) add
their own kinds through the connection's `key` and `run`, and so get the same
namespacing, reply validation and outage handling. The daily prompt's "one
post per channel and day" must not use `first_time`'s in-process fallback
described below (every instance would post): it wants the same script through
`run`, letting `StoreUnavailable` through so the run is retried within its grace.

Outages (how they are noticed and healed: `redis_connection`). While Redis
cannot be reached, calls raise `StoreUnavailable`, which the handler turns
into its degraded behaviour, except `first_time`: while Redis is down it
answers from a small in-process `MemoryStore` that also remembers every key
this process saw while Redis was up. A platform's retry storm during an
outage is therefore still answered once per instance, where answering `True`
blindly would post every retry. Those in-process marks are not written back
to Redis afterwards: a retry that lands on another instance may be answered
twice, which is the visible price of an outage (logged once when Redis goes
away and once when it is back, and shown in `/healthz` meanwhile). And
`is_muted` answers what Redis said of that person within the last
`MUTE_MEMORY` seconds, and otherwise raises, which the handler takes for
muted: nobody who may have muted the bot is nudged while it cannot tell.

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

import logging
import math
import time
import uuid
from collections.abc import Sequence

from adapters import redis_scripts
from adapters.redis_clients import Client, RedisTarget, open_client
from adapters.redis_connection import RedisConnection, short
from adapters.redis_connection import StoreError as StoreError
from adapters.redis_connection import StoreUnavailable as StoreUnavailable
from bot.store import QUESTIONS_TTL, WEEKS_KEPT, Claim, Clock, MemoryStore, Queued

log = logging.getLogger("touchpoint.redis")

DEFAULT_PREFIX = "touchpoint:"

MUTED = b"1"

WEEK_TTL = WEEKS_KEPT * 7 * 86400

MUTE_MEMORY = 60.0
"""Seconds a mute Redis answered is trusted once Redis cannot be reached: long enough to
ride out a restart without stopping every nudge, short enough that a mute made on another
instance just before an outage is not missed for long."""


class RedisStore:
    """The shared `Store`; see the module docstring for keys and outages."""

    def __init__(
        self,
        client: Client,
        prefix: str = DEFAULT_PREFIX,
        *,
        reconnect_interval: float = 1.0,
        clock: Clock = time.monotonic,
        local_keys: int = 100_000,
        cluster: bool = False,
        others: Sequence[Client] = (),
    ) -> None:
        self._redis = RedisConnection(client, prefix, reconnect_interval=reconnect_interval,
                                      clock=clock, cluster=cluster, others=others)
        self._local = MemoryStore(clock=clock, max_keys=local_keys)
        self._clock = clock
        self._local_keys = local_keys
        self._mutes: dict[str, tuple[bool, float]] = {}
        self._switches: dict[str, tuple[bool, float]] = {}
        """What Redis last said of each person's mute, and when: trusted during an outage
        for `MUTE_MEMORY` seconds."""
        self._first_time = self._redis.script(redis_scripts.FIRST_TIME)
        self._claim = self._redis.script(redis_scripts.CLAIM)
        self._renew = self._redis.script(redis_scripts.RENEW)
        self._release = self._redis.script(redis_scripts.RELEASE)
        self._pick_prompt = self._redis.script(redis_scripts.PICK_PROMPT)
        self._reserve = self._redis.script(redis_scripts.RESERVE)
        self._incr_week = self._redis.script(redis_scripts.INCR_WEEK)
        self._add_question = self._redis.script(redis_scripts.ADD_QUESTION)
        self._outbox_put = self._redis.script(redis_scripts.OUTBOX_PUT)

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
        """A store on a client that fails fast and heals by itself (see `fail_fast_client`)."""
        return cls.from_target(RedisTarget(url=url), prefix, connect_timeout=connect_timeout,
                               timeout=timeout, reconnect_interval=reconnect_interval,
                               clock=clock)

    @classmethod
    def from_target(
        cls,
        target: RedisTarget,
        prefix: str = DEFAULT_PREFIX,
        *,
        connect_timeout: float = 0.5,
        timeout: float = 1.0,
        reconnect_interval: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> RedisStore:
        """A store on one server, a Sentinel-managed primary or a Cluster (`redis_clients`)."""
        opened = open_client(target, connect_timeout=connect_timeout, timeout=timeout)
        return cls(opened.client, prefix, reconnect_interval=reconnect_interval, clock=clock,
                   cluster=target.cluster and not target.sentinels, others=opened.others)

    @property
    def prefix(self) -> str:
        return self._redis.prefix

    async def close(self) -> None:
        await self._redis.close()

    async def health(self) -> str:
        """`ok`, or `degraded: <reason>` for `/healthz`; also a reconnect probe."""
        return await self._redis.health()

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
            reply = await self._redis.run(lambda c: self._first_time(
                keys=[self._redis.key("once", key)], args=[token, milliseconds]))
        except StoreError as exc:
            if not isinstance(exc, StoreUnavailable):
                log.warning("redis: first_time refused (%s); deduplicating in this process", exc)
            return await self._local.first_time(key, ttl)
        await self._local.first_time(key, ttl)
        if isinstance(reply, bool) or reply not in (0, 1):
            log.warning("redis: unexpected first_time reply %s for %r; treating as first",
                        short(reply), key)
            return True
        return reply == 1

    async def set_muted(self, user: str, muted: bool) -> None:
        key = self._redis.key("mute", user)
        self._mutes.pop(user, None)  # unknown until read again, whether or not this lands
        if muted:
            await self._redis.run(lambda c: c.set(key, MUTED))
        else:
            await self._redis.run(lambda c: c.delete(key))

    async def is_muted(self, user: str) -> bool:
        """Whether Redis says `user` is muted; while it cannot be reached, what it said at
        most `MUTE_MEMORY` seconds ago, else `StoreUnavailable` (the handler then stays
        quiet: a muted person must not be nudged because Redis is down)."""
        key = self._redis.key("mute", user)
        try:
            reply = await self._redis.read(lambda c: c.get(key), key, f"{user!r} as not muted")
        except StoreUnavailable:
            known = self._mutes.get(user)
            if known is not None and self._clock() - known[1] <= MUTE_MEMORY:
                return known[0]
            raise
        muted = reply == MUTED
        if reply is not None and not muted:
            log.warning("redis: %s holds %s, not %r; treating %r as not muted",
                        key, short(reply), MUTED, user)
        self._remember_mute(user, muted)
        return muted

    def _remember_mute(self, user: str, muted: bool) -> None:
        self._mutes.pop(user, None)
        self._mutes[user] = (muted, self._clock())
        if len(self._mutes) > self._local_keys:
            del self._mutes[next(iter(self._mutes))]  # the one read longest ago

    async def incr_counts(self, week: str, counter: str, amount: int = 1) -> tuple[int, int]:
        reply = await self._redis.run(lambda c: self._incr_week(
            keys=[self._redis.key("week", week), self._redis.key("counters")],
            args=[counter, amount, WEEK_TTL]))
        if not isinstance(reply, list) or len(reply) != 2:
            raise StoreError(f"unexpected counting reply {short(reply)}")
        return _int_reply(reply[0], "HINCRBY"), _int_reply(reply[1], "weekly HINCRBY")

    async def counters(self, prefix: str = "") -> dict[str, int]:
        return await self._int_hash(self._redis.key("counters"), prefix,
                                    skipped="redis: counter %r holds %s, not an integer; skipped")

    async def save_reference(self, platform: str, conversation: str, reference: str) -> None:
        key = self._redis.key("refs", platform)
        await self._redis.run(lambda c: c.hset(key, conversation, reference))

    async def drop_reference(self, platform: str, conversation: str) -> None:
        await self._redis.run(lambda c: c.hdel(self._redis.key("refs", platform), conversation))

    async def references(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._redis.key("refs", platform))

    # Analytics and playbook versions

    async def incr_week(self, week: str, counter: str, amount: int = 1) -> int:
        reply = await self._redis.run(lambda c: self._incr_week(
            keys=[self._redis.key("week", week)], args=[counter, amount, WEEK_TTL]))
        return _int_reply(reply, "weekly HINCRBY")

    async def week_counters(self, week: str) -> dict[str, int]:
        return await self._int_hash(self._redis.key("week", week),
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
        await self._redis.run(lambda c: self._add_question(
            keys=[self._redis.key(kind, week)], args=[entry, max(1, keep), seconds]))

    async def _latest(self, kind: str, week: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        key = self._redis.key(kind, week)
        reply = await self._redis.read(lambda c: c.lrange(key, 0, limit - 1), key, "it as empty")
        if not isinstance(reply, list):
            return []
        return [item.decode(errors="replace") for item in reply if isinstance(item, bytes)]

    async def set_value(self, name: str, value: str) -> None:
        await self._redis.run(lambda c: c.set(self._redis.key("value", name), value))

    async def get_value(self, name: str) -> str | None:
        key = self._redis.key("value", name)
        reply = await self._redis.read(lambda c: c.get(key), key, "it as unset")
        if not isinstance(reply, bytes):
            return None
        try:
            return reply.decode()
        except UnicodeDecodeError:
            log.warning("redis: %s is not UTF-8 (%s); treating it as unset", key, short(reply))
            return None

    # The daily prompt

    async def subscribe(self, platform: str, channel: str, spec: str) -> None:
        await self._redis.run(lambda c: c.hset(self._redis.key("subs", platform), channel, spec))

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        reply = await self._redis.run(lambda c: c.hdel(self._redis.key("subs", platform), channel))
        return reply == 1

    async def subscriptions(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._redis.key("subs", platform))

    async def flag(self, platform: str, channel: str, reason: str) -> None:
        await self._redis.run(lambda c: c.hset(self._redis.key("flags", platform), channel, reason))

    async def unflag(self, platform: str, channel: str) -> None:
        await self._redis.run(lambda c: c.hdel(self._redis.key("flags", platform), channel))

    async def flagged(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._redis.key("flags", platform))

    async def pick_prompt(self, channel: str, day: str, prompts: Sequence[str]) -> str:
        if not prompts:
            return ""
        reply = await self._redis.run(lambda c: self._pick_prompt(
            keys=[self._redis.key("rotation", channel)], args=[day, *prompts]))
        pick = reply.decode(errors="replace") if isinstance(reply, bytes) else ""
        if pick not in prompts:
            raise StoreError(f"unexpected rotation reply {short(reply)}")
        return pick

    async def claim(self, key: str, token: str, lease: float, keep: float) -> Claim:
        reply = await self._redis.run(lambda c: self._claim(
            keys=[self._redis.key("claim", key), self._redis.key("claims", key)],
            args=[token, _millis(lease), _millis(keep)]))
        if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[0], bytes):
            state, detail = reply[0].decode(), reply[1]
            if state == "mine" and isinstance(detail, int) and not isinstance(detail, bool):
                return Claim("mine", attempt=detail)
            if state == "settled" and isinstance(detail, bytes):
                return Claim("settled", outcome=detail.decode(errors="replace"))
            if state == "held":
                return Claim("held")
        raise StoreError(f"unexpected claim reply {short(reply)}")

    async def renew(self, key: str, token: str, lease: float) -> bool:
        reply = await self._redis.run(lambda c: self._renew(
            keys=[self._redis.key("claim", key)], args=[token, _millis(lease)]))
        return reply == 1

    async def settle(self, key: str, outcome: str, keep: float) -> None:
        await self._redis.run(lambda c: c.set(self._redis.key("claim", key), f"done:{outcome}",
                                              px=_millis(keep)))

    async def release(self, key: str, token: str) -> None:
        await self._redis.run(lambda c: self._release(
            keys=[self._redis.key("claim", key)], args=[token]))

    async def reserve(self, key: str, interval: float, after: float = 0.0,
                      longest: float = math.inf) -> float:
        furthest = round(longest * 1_000_000) if math.isfinite(longest) else 0
        micros = [max(0, round(interval * 1_000_000)), max(0, round(after * 1_000_000)),
                  max(0, furthest)]
        reply = await self._redis.run(lambda c: self._reserve(
            keys=[self._redis.key("pace", key)], args=micros))
        if not isinstance(reply, list) or len(reply) != 2:
            raise StoreError(f"unexpected pacing reply {short(reply)}")
        if reply[1]:
            log.warning("redis: %s held a slot further away than the %g s any instance books "
                        "(%s); a damaged key, started over", self._redis.key("pace", key),
                        longest, short(reply[1]))
        return max(0.0, _int_reply(reply[0], "pacing") / 1_000_000)

    # Nudges after customer calls

    async def outbox_put(self, key: str, entry: str, limit: int) -> Queued:
        reply = await self._redis.run(lambda c: self._outbox_put(
            keys=[self._redis.key("outbox"), self._redis.key("claim", key)],
            args=[key, entry, max(0, limit)]))
        if reply == b"added":
            return "added"
        if reply == b"known":
            return "known"
        if reply == b"full":
            return "full"
        raise StoreError(f"unexpected outbox reply {short(reply)}")

    async def outbox(self, limit: int) -> dict[str, str]:
        if limit <= 0:
            return {}
        key = self._redis.key("outbox")
        reply = await self._redis.read(lambda c: c.hrandfield(key, limit, withvalues=True),
                                       key, "it as empty")
        if not isinstance(reply, list):
            return {}
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

    # Channel switches

    async def set_nudges(self, platform: str, channel: str, off_by: str) -> None:
        self._switches.pop(f"{platform}:{channel}", None)
        key = self._redis.key("nudges-off", platform)
        if off_by:
            await self._redis.run(lambda c: c.hset(key, channel, off_by))
        else:
            await self._redis.run(lambda c: c.hdel(key, channel))

    async def nudges_off(self, platform: str) -> dict[str, str]:
        return await self._redis.read_hash(self._redis.key("nudges-off", platform))

    async def nudges_allowed(self, platform: str, channel: str) -> bool:
        """Whether Redis says the channel's nudges are on; while it cannot be reached, what
        it said at most `MUTE_MEMORY` seconds ago (as `is_muted`), else `StoreUnavailable`."""
        key = self._redis.key("nudges-off", platform)
        seen = f"{platform}:{channel}"
        try:
            reply = await self._redis.read(lambda c: c.hexists(key, channel), key,
                                           "the channel's nudges as on")
        except StoreUnavailable:
            known = self._switches.get(seen)
            if known is not None and self._clock() - known[1] <= MUTE_MEMORY:
                return known[0]
            raise
        allowed = not reply
        self._switches.pop(seen, None)
        self._switches[seen] = (allowed, self._clock())
        if len(self._switches) > self._local_keys:
            del self._switches[next(iter(self._switches))]
        return allowed

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


def _int_reply(reply: object, what: str) -> int:
    """A script's or command's integer reply; anything else is `StoreError` (`what` names it)."""
    if isinstance(reply, bool) or not isinstance(reply, int):
        raise StoreError(f"unexpected {what} reply {short(reply)}")
    return reply


def _millis(seconds: float) -> int:
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a TTL must be a positive, finite number of seconds, not {seconds}")
    return max(1, math.ceil(seconds * 1000))
