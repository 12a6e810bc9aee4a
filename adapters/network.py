"""Is a request from this machine? Shared by every endpoint that trusts only local callers.

Teams' development mode and `touchpoint preview` serve only a caller on this
machine. A proxy on the same machine would make every caller look local, so any
header a proxy or CDN adds to pass on the client counts as a request from elsewhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
                      "X-Forwarded-Proto", "X-Forwarded-Server", "X-Real-IP", "X-Client-IP",
                      "Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
                      "X-Cluster-Client-IP", "X-Original-Forwarded-For", "Via")


def is_loopback(remote: str | None) -> bool:
    """The peer address is this machine's (127.0.0.0/8, ::1, or ::ffff:127.x)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def forwarded(headers: Mapping[str, str]) -> bool:
    """Whether a proxy passed the request on (then its peer address says nothing)."""
    return any(name in headers for name in FORWARDING_HEADERS)
