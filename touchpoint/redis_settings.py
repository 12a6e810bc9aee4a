"""The settings that say how Redis is deployed: one server, Sentinel, or Cluster.

Kept out of `settings` so that module stays one screen of checks per concern;
`Settings.from_env` calls `redis_topology` with the `REDIS_URL` it checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict
from urllib.parse import parse_qs, unquote, urlparse

REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_CERT_REQS = ("none", "optional", "required")
REDIS_TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
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


def redis_url_problems(url: str) -> list[str]:
    """What is wrong with a REDIS_URL, without echoing it: it may hold a password."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme not in REDIS_SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        return [f"REDIS_URL: must start with redis://, rediss:// or unix:// (got {shown})"]
    if scheme == "unix":
        if not parsed.path:
            return ["REDIS_URL: unix:// needs a socket path"]
        return _redis_option_problems(url, scheme)
    try:
        port = parsed.port
    except ValueError:
        return ["REDIS_URL: the port must be a number from 1 to 65535"]
    if not parsed.hostname:
        return [f"REDIS_URL: {scheme}:// needs a host, e.g. {scheme}://localhost:6379/0"]
    if port == 0:
        return ["REDIS_URL: the port must be a number from 1 to 65535"]
    database = parsed.path.strip("/")
    if database and not database.isdigit():
        return [f"REDIS_URL: the path must be a database number, e.g. {scheme}://host:6379/0"]
    return _redis_option_problems(url, scheme)


def _redis_option_problems(url: str, scheme: str) -> list[str]:
    """The URL's `?options`, read as the redis client reads them.

    redis-py hands every option to its connection as a keyword argument, so an
    unknown or misplaced one (`ssl_cert_reqs` on a plain `redis://` URL) would
    only fail at the first command, and a missing CA file would look like an
    unreachable Redis. Flags and file paths are echoed; other values are not,
    since a query may hold a password.
    """
    options = {name: unquote(values[0]) for name, values in parse_qs(urlparse(url).query).items()}
    problems = []
    tls_options = sorted(name for name in options if name.startswith("ssl"))
    if tls_options and scheme != "rediss":
        problems.append(f"REDIS_URL: TLS options ({', '.join(tls_options)}) need a rediss:// "
                        "URL")
    cert_reqs = options.get("ssl_cert_reqs")
    if cert_reqs is not None and cert_reqs not in REDIS_CERT_REQS:
        problems.append(f"REDIS_URL: ssl_cert_reqs={cert_reqs!r}: must be one of "
                        + ", ".join(REDIS_CERT_REQS))
    for name in REDIS_TLS_FILES:
        if name in options and not Path(options[name]).is_file():
            problems.append(f"REDIS_URL: {name}={options[name]!r}: no such file")
    if "ssl_ca_path" in options and not Path(options["ssl_ca_path"]).is_dir():
        problems.append(f"REDIS_URL: ssl_ca_path={options['ssl_ca_path']!r}: no such folder")
    if problems:
        return problems
    # Imported here: only a deployment with REDIS_URL set needs the client.
    from redis.asyncio import ConnectionPool
    from redis.exceptions import RedisError

    try:
        pool = ConnectionPool.from_url(url)
        pool.connection_class(**pool.connection_kwargs)  # builds a connection, does not connect
    except ValueError as exc:  # e.g. "Invalid value for 'db' in connection URL."; no value
        return [f"REDIS_URL: {exc}"]
    except TypeError as exc:
        found = re.search(r"argument '(\w+)'", str(exc))
        name = found.group(1) if found else "?"
        return [f"REDIS_URL: unknown option {name!r} (redis-py's connection options only)"]
    except RedisError as exc:
        return [f"REDIS_URL: the redis client refuses its options ({type(exc).__name__}: "
                f"{exc})"]
    return []
