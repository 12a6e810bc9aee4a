"""How the store finds Redis: one server, a primary named by Sentinel, or a Cluster.

Kept apart from `redis_connection` (what every command goes through) because
this is only about building the client: each topology needs a different
redis-py class, and each must fail fast the same way (see `fail_fast_client`).

- One server: `REDIS_URL`.
- Sentinel: the sentinels are asked for the service's primary before each new
  connection, so after a failover the next connection goes to the promoted
  replica, and a connection that finds its server demoted (READONLY) is dropped.
  `REDIS_URL`, if given, supplies the password, database and TLS options (its
  host is not used); the sentinels are reached with the same TLS options and
  without a password.
- Cluster: `REDIS_URL` names any node; the client learns the others and follows
  MOVED/ASK redirects. Multi-key scripts need their keys in one hash slot, which
  `RedisConnection.key` arranges with hash tags in cluster mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

Client = Redis | RedisCluster


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is, as the settings describe it."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    cluster: bool = False


@dataclass
class Opened:
    """A client, and the other clients it depends on (the sentinels), to close with it."""

    client: Client
    others: Sequence[Redis] = field(default_factory=tuple)


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1,
                 supported_errors=(redis_errors.ConnectionError,))


def fail_fast_client(url: str, *, connect_timeout: float, timeout: float) -> Redis:
    """A client tuned to fail fast and heal by itself.

    redis-py's default retry backs off for up to ten seconds, long enough
    for Slack to give up on a request. Here a dropped connection is
    retried once at once, which gets past a connection that died in a
    Redis restart; a timeout is not retried, since a Redis that did not
    answer within `timeout` will not answer the retry sooner, and the
    command may have run. The health check pings a connection that sat
    idle, so a restart is noticed before a command goes to a dead socket.
    """
    return Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout,
                          retry=_retry(), health_check_interval=10)


def open_client(target: RedisTarget, *, connect_timeout: float, timeout: float) -> Opened:
    """The client for `target`, failing fast in each topology as `fail_fast_client` does."""
    if target.sentinels:
        return _sentinel_client(target, connect_timeout=connect_timeout, timeout=timeout)
    if target.cluster:
        cluster = RedisCluster.from_url(
            target.url, socket_connect_timeout=connect_timeout, socket_timeout=timeout,
            retry=_retry(), health_check_interval=10)
        return Opened(cluster)
    return Opened(fail_fast_client(target.url, connect_timeout=connect_timeout, timeout=timeout))


def _sentinel_client(target: RedisTarget, *, connect_timeout: float,
                     timeout: float) -> Opened:
    options = _url_options(target.url) if target.url else {}
    tls = {k: v for k, v in options.items() if k.startswith("ssl")}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), min_other_sentinels=0,
        sentinel_kwargs={"socket_connect_timeout": connect_timeout, "socket_timeout": timeout,
                         "retry": Retry(ExponentialBackoff(), 0), **tls},
        socket_connect_timeout=connect_timeout, socket_timeout=timeout, retry=_retry(),
        health_check_interval=10, **options)
    return Opened(sentinel.master_for(target.service), others=tuple(sentinel.sentinels))


def _url_options(url: str) -> dict[str, Any]:
    """The password, database and TLS options of a URL, for a Sentinel-managed connection.

    The host and port are the sentinels' business; `rediss://` becomes `ssl=True`,
    which has the Sentinel pool pick its TLS connection class.
    """
    options = dict(parse_url(url))
    tls = options.pop("connection_class", None) is not None and url.startswith("rediss:")
    for name in ("host", "port", "path"):
        options.pop(name, None)
    if tls:
        options["ssl"] = True
    return options
