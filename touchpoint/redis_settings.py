"""The settings that say how Redis is deployed: one server, Sentinel, or Cluster.

Kept out of `settings` so that module stays one screen of checks per concern;
`Settings.from_env` calls `redis_topology` with the `REDIS_URL` it checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypedDict
from urllib.parse import urlparse

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_SERVICE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_FLAGS = {"": False, "0": False, "false": False, "no": False, "off": False,
          "1": True, "true": True, "yes": True, "on": True}


class RedisTopology(TypedDict):
    redis_sentinels: tuple[tuple[str, int], ...]
    redis_sentinel_service: str
    redis_cluster: bool


def redis_topology(env: Mapping[str, str], problems: list[str], url: str,
                   prefix: str) -> RedisTopology:
    """`REDIS_SENTINELS`, `REDIS_SENTINEL_SERVICE` and `REDIS_CLUSTER`, checked together."""
    raw = env.get("REDIS_SENTINELS", "").strip()
    sentinels = _addresses(raw, problems)
    service = env.get("REDIS_SENTINEL_SERVICE", "").strip()
    raw_cluster = env.get("REDIS_CLUSTER", "").strip().lower()
    cluster = _FLAGS.get(raw_cluster)
    if cluster is None:
        problems.append(f"REDIS_CLUSTER={raw_cluster!r}: must be 1 or 0")
        cluster = False
    if raw and not service:
        problems.append("REDIS_SENTINEL_SERVICE: required with REDIS_SENTINELS (the name the "
                        "sentinels monitor the primary under, e.g. mymaster)")
    if service and not _SERVICE.match(service):
        problems.append(f"REDIS_SENTINEL_SERVICE={service!r}: must be 1 to 100 letters, "
                        "digits, '.', '_' or '-'")
    if service and not raw:
        problems.append("REDIS_SENTINEL_SERVICE is set but REDIS_SENTINELS is not: name the "
                        "sentinels (host:port,host:port), or remove it")
    scheme = urlparse(url).scheme.lower() if url else ""
    if raw and scheme == "unix":
        problems.append("REDIS_URL: a unix:// socket cannot be combined with REDIS_SENTINELS; "
                        "use redis:// or rediss:// for the password, database and TLS options")
    if cluster:
        if raw:
            problems.append("REDIS_CLUSTER=1 and REDIS_SENTINELS are two ways to find Redis: "
                            "set one of them")
        elif not url:
            problems.append("REDIS_URL: required with REDIS_CLUSTER=1 (any node of the cluster)")
        elif scheme == "unix":
            problems.append("REDIS_URL: a Redis Cluster is reached over redis:// or rediss://, "
                            "not a unix:// socket")
        elif urlparse(url).path.strip("/") not in ("", "0"):
            problems.append("REDIS_URL: a Redis Cluster has database 0 only")
        if "{" in prefix:
            problems.append(f"TOUCHPOINT_REDIS_PREFIX={prefix!r}: cannot hold '{{' with "
                            "REDIS_CLUSTER=1 (it would move the store's hash tags)")
    return {"redis_sentinels": sentinels, "redis_sentinel_service": service,
            "redis_cluster": cluster}


def _addresses(raw: str, problems: list[str]) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for item in (part.strip() for part in raw.split(",")) if raw else ():
        host, _, port = item.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535 or not (
                _HOST.match(host) or ":" in host):
            problems.append(f"REDIS_SENTINELS: {item!r} is not host:port (e.g. "
                            "sentinel-0.redis:26379)")
            continue
        found.append((host, int(port)))
    return tuple(found)
