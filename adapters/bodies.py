"""Request bodies read up to a limit, refused without raising.

aiohttp's own limit (`client_max_size`) refuses an oversized body by raising from
`request.read()`, and aiohttp then kept the part it had read of every body refused
that way: 300 refused 5 MB bodies held 364 MiB, which `gc.collect()` did not free, and
the body is read before any signature can be checked. Read here, an oversized body is
dropped as soon as it is seen.
"""

from __future__ import annotations

from aiohttp import web

MAX_BODY = 1024 * 1024
"""Bytes a request body may have unless a route says otherwise; chat platforms send a few
kilobytes, a git host's push notice rarely more than a hundred."""


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None when it has more than `limit` bytes (the rest is not read)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body.extend(chunk)
    return None if len(body) > limit else bytes(body)
