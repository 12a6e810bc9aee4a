"""Request bodies read up to a limit and a deadline, refused without raising.

aiohttp's own limit (`client_max_size`) refuses an oversized body by raising from
`request.read()`, and aiohttp then kept the part it had read of every body refused
that way: 300 refused 5 MB bodies held 364 MiB, which `gc.collect()` did not free, and
the body is read before any signature can be checked. Read here, an oversized body is
dropped as soon as it is seen.

Nothing in aiohttp times out a body that never finishes, so a client sending one
byte a minute held its connection and its buffers for ever: every body has a
deadline. Bodies beyond a few kilobytes (no chat platform sends one) also need
one of a few slots, so a crowd of stalled megabyte bodies holds a bounded amount
of memory, while the small requests Slack and Teams send never wait for a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

MAX_BODY = 1024 * 1024
"""Bytes a request body may have unless a route says otherwise; chat platforms send a few
kilobytes, a git host's push notice rarely more than a hundred."""
SMALL_BODY = 64 * 1024
"""Bytes any body may have without a slot: Slack and Teams send far less."""
BODY_TIMEOUT = 15.0
"""Seconds a client has to send a whole body (waiting for a slot included)."""
BODY_READS = 32
"""Bodies larger than `SMALL_BODY` read at once; others wait for a slot."""


@dataclass
class BodyGate:
    """The deadline and the slots every body of one server is read under."""

    timeout: float = BODY_TIMEOUT
    slots: int = BODY_READS
    slots_free: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.slots_free = asyncio.Semaphore(self.slots)


GATE_KEY: web.AppKey[BodyGate] = web.AppKey("body_gate", BodyGate)
FORM_KEY: web.RequestKey[MultiDictProxy[str]] = web.RequestKey("form", MultiDictProxy)


def gate(app: web.Application, timeout: float = BODY_TIMEOUT, slots: int = BODY_READS) -> None:
    """Read every body of `app` (and its sub-applications) under one deadline and slot count."""
    app[GATE_KEY] = BodyGate(timeout, slots)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None when it has more than `limit` bytes (the rest is not read).

    Raises `web.HTTPRequestTimeout` (408) when the body does not arrive in time.
    """
    if request.content_length is not None and request.content_length > limit:
        return None
    gate = request.config_dict.get(GATE_KEY)
    # An application nobody gated (a test's own app) still never waits for ever.
    timeout = BODY_TIMEOUT if gate is None else gate.timeout
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            return await _read(request, limit, None if gate is None else gate.slots_free, body)
    except TimeoutError:
        # The exception's traceback holds the frames that hold `body`: until the collector
        # ran, each stalled body's megabyte would stay.
        body.clear()
        raise web.HTTPRequestTimeout(
            text="the request body did not arrive in time") from None


async def _read(request: web.Request, limit: int, slots: asyncio.Semaphore | None,
                body: bytearray) -> bytes | None:
    small = min(limit, SMALL_BODY)
    if not await _fill(request, body, small):
        return bytes(body)
    if limit <= small:
        return None
    async with slots if slots is not None else contextlib.nullcontext():
        if not await _fill(request, body, limit):
            return bytes(body)
    return None


async def _fill(request: web.Request, body: bytearray, limit: int) -> bool:
    """Read into `body` up to `limit` + 1 bytes; True when there is more than `limit`."""
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return False
        body.extend(chunk)
    return True


async def read_form(request: web.Request, limit: int = SMALL_BODY) -> Mapping[str, str]:
    """A form's fields (`application/x-www-form-urlencoded`), read as `read_body` reads.

    Read once per request: the guard and the page may both ask. A body over the
    limit is refused with 413.
    """
    known: MultiDictProxy[str] | None = request.get(FORM_KEY)
    if known is not None:
        return known
    body = await read_body(request, limit)
    if body is None:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length
                                            or limit + 1)
    fields: MultiDictProxy[str] = MultiDictProxy(MultiDict(
        parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)))
    request[FORM_KEY] = fields
    return fields
