"""The `Store` in Redis, so several Touchpoint instances share one state.

Chosen when `REDIS_URL` is set. Every method is one atomic Redis step, so
instances never need a lock around a read-then-write. `RedisStore` is the
roles of `bot.store` put together: dedupe, mutes and shared values here (the
first two answer from memory during an outage), usage in `redis_usage`,
subscriptions and references in `redis_channels`, the post ledger and pacing
in `redis_ledger`; every command goes through `redis_connection`.

Key layout (all under the configured prefix, default `touchpoint:`), which
two versions of Touchpoint must agree on during a rolling deploy:

- `once:<key>`: a string with a TTL, for `first_time` (delivery ids, nudge
  cooldowns), written with its TTL in the same step.
- `mute:<user>`: the string `1` while a person is muted. One key per person,
  so a damaged key only affects that person and `SET` repairs it.
- `nudges-off:<platform>`: a hash of channel id to who switched that channel's
  nudges off (`/touchpoint nudges off`); `HEXISTS` on it is the nudge path's check.
- `counters`: a hash of counter name to integer (`HINCRBY`); one `HGETALL`
  reads a consistent snapshot for reports, without scanning the keyspace.
  Each count also goes to the week's hash (below), in the same script.
- `week:<YYYY-Www>`: a hash of counter name to integer for one ISO week,
  expiring `WEEKS_KEPT` weeks after its last write, so analytics cannot grow
  without bound.
- `questions:<YYYY-Www>`: a list of that week's unanswered questions (no user
  ids), newest first, capped with `LTRIM`, expiring the TTL each write gives
  (`TOUCHPOINT_QUESTIONS_DAYS`): people's own words. `corrections:<YYYY-Www>`
  likewise holds the week's answered "Not helpful" forms (JSON, no user ids).
- `refs:<platform>`: a hash of conversation id to serialised reference.
- `subs:<platform>`: a hash of channel id to its daily-prompt subscription
  (JSON); the weekly digest's live under `subs:digest:<platform>`.
- `flags:<platform>`: a hash of channel id to why the bot can no longer post
  there; scheduled posts skip it until it is removed.
- `rotation:<channel>`: a hash of `used:<prompt id>` for each prompt the channel
  had this round, and `@day`/`@pick` for today's, so a retry posts the same one.
- `claim:<key>`: `lease:<token>` while an instance posts (one channel's prompt
  of a day, one call's nudge, ...), then `done:<outcome>`; always with a TTL.
  `claims:<key>`: how many times it was claimed, expiring with it.
- `outbox`: a hash of delivery key (`call:gong:<call id>`, ...) to the accepted
  call nudge (JSON), written before the sender is answered and removed once its
  `claim:<delivery key>` is settled. No TTL: an accepted nudge waits for as
  long as it takes Slack or Teams to take it.
- `pace:<key>`: when the next slot of a shared rate starts (microseconds of
  Redis's clock), e.g. `pace:rate:slack`; expires once the slot has passed.
- `value:<name>`: a small shared string, e.g. `value:playbooks-commit`, the
  playbook commit every instance converges on.

When Touchpoint is installed in many Slack workspaces (OAuth), each workspace's
usage and subscriptions are its own (`for_team`): `counters`, `week:`, `questions:`,
`corrections:`, `subs:`, `flags:` and `rotation:` keys carry `@<team>` right after
their kind, e.g. `counters:@E0123:T0456`, `week:@-:T0456:2024-W05`,
`subs:@-:T0456:slack`, where `<team>` is the workspace's key (`E0123:T0456`, or
`-:T0456` outside Enterprise Grid). Requests the Slack adapter cannot place in a
workspace, Teams and a single-token deployment use the plain keys above, so their
layout does not change.

The only keys without a TTL are those no clock may drop: mutes, switches,
counters, references, subscriptions, flags, rotations, the outbox and values.

In a Redis Cluster (`REDIS_CLUSTER=1`) the keys a script reads together carry a hash
tag after the prefix, `{stats}` for `counters` and `week:`, `{claims}` for `claim:`,
`claims:` and `outbox` (see `redis_connection.SLOTS`), so each script's keys share a slot;
one server and Sentinel keep the layout above unchanged.

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
The daily prompt's "one post per channel and day" never uses that fallback
(every instance would post): a claim lets `StoreUnavailable` through, and the
run is retried within its grace.

Nothing stored is ever removed to recover: no FLUSH, no deleting a key of the
wrong type. A damaged value under one of our keys is logged and read as
missing; a write that cannot land on it raises `StoreRefused`, and a reply
that does not parse `StoreCorrupt`. A `once:` key holding anything at all
counts as seen (it is given a TTL if it lacks one).

Redis itself must keep what it is given: run it with the append-only file
and a `noeviction` (or `volatile-*`) maxmemory policy, or a restart or memory
pressure can drop mutes, counters and references that no TTL covers.

Counters are at-least-once: if a reply is lost after Redis applied an
increment, the retry applies it again. `first_time` does not have that
problem: each call writes a unique token, and a retry that finds its own
token knows the first attempt succeeded.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import uuid
from collections.abc import Sequence

from adapters import redis_scripts
from adapters.redis_channels import RedisReferences, RedisSubscriptions
from adapters.redis_clients import Client, RedisTarget, open_client
from adapters.redis_connection import RedisConnection, short
from adapters.redis_ledger import RedisPacing, RedisPostLedger
from adapters.redis_usage import RedisUsage
from bot.memory_store import MemoryStore
from bot.store import Clock, StoreError, StoreUnavailable

log = logging.getLogger("touchpoint.redis")

DEFAULT_PREFIX = "touchpoint:"

MUTED = b"1"

MUTE_MEMORY = 60.0
"""Seconds a mute Redis answered is trusted once Redis cannot be reached: long enough to
ride out a restart without stopping every nudge, short enough that a mute made on another
instance just before an outage is not missed for long."""


class RedisStore(RedisUsage, RedisSubscriptions, RedisReferences, RedisPostLedger,
                 RedisPacing):
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
        self._team = ""
        self._teams: dict[str, RedisStore] = {"": self}
        """Every workspace's view, shared by the views (a shallow copy shares it)."""
        self._mutes: dict[str, tuple[bool, float]] = {}
        self._switches: dict[str, tuple[bool, float]] = {}
        """What Redis last said of each person's mute and each channel's switch, and
        when: trusted during an outage for `MUTE_MEMORY` seconds."""

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

    def for_team(self, team: str) -> RedisStore:
        """This store on the same connection, its usage and subscription keys carrying
        `@<team>` (see the key layout); "" is the plain store."""
        known = self._teams.get(team)
        if known is None:
            known = copy.copy(self)
            known._team = team
            self._teams[team] = known
        return known

    async def close(self) -> None:
        await self._redis.close()

    async def health(self) -> str:
        """`ok`, or `degraded: <reason>` for `/healthz`; also a reconnect probe."""
        return await self._redis.health()

    # Dedupe

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
            reply = await self._redis.run(lambda c: self._redis.script(redis_scripts.FIRST_TIME)(
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

    # Mutes

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
            known = self._recalled(self._mutes, user)
            if known is None:
                raise
            return known
        muted = reply == MUTED
        if reply is not None and not muted:
            log.warning("redis: %s holds %s, not %r; treating %r as not muted",
                        key, short(reply), MUTED, user)
        self._remember(self._mutes, user, muted)
        return muted

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
            known = self._recalled(self._switches, seen)
            if known is None:
                raise
            return known
        allowed = not reply
        self._remember(self._switches, seen, allowed)
        return allowed

    def _recalled(self, memory: dict[str, tuple[bool, float]], name: str) -> bool | None:
        """What Redis said of `name` within the last `MUTE_MEMORY` seconds, if anything."""
        known = memory.get(name)
        if known is not None and self._clock() - known[1] <= MUTE_MEMORY:
            return known[0]
        return None

    def _remember(self, memory: dict[str, tuple[bool, float]], name: str, answer: bool) -> None:
        memory.pop(name, None)
        memory[name] = (answer, self._clock())
        if len(memory) > self._local_keys:
            del memory[next(iter(memory))]  # the one read longest ago

    # Shared values

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
