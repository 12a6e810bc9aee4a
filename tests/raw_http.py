"""HTTP requests written byte for byte, for headers no client library would send (invalid
UTF-8, non-ASCII), and the status the server answered; and requests that never finish
(slow-loris), held open until the server cuts them off."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

HANG_GUARD = 60.0
"""Seconds an answer may take before the test fails: only there so a hang ends."""


async def raw_request(url: str, method: str, path: str,
                      headers: Sequence[tuple[str, bytes]], body: bytes = b"") -> tuple[int, bytes]:
    """Send one request on its own connection; the answer's status and body."""
    host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n" \
           f"Content-Length: {len(body)}\r\n".encode()
    for name, value in headers:
        head += name.encode() + b": " + value + b"\r\n"
    writer.write(head + b"\r\n" + body)
    try:
        answer = await asyncio.wait_for(reader.read(), HANG_GUARD)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def half_sent(path: str = "/slack/events") -> bytes:
    """Part of a request's headers: a client that then says nothing more."""
    return f"POST {path} HTTP/1.1\r\nHost: touchpoint\r\nX-Slow: 1".encode()


def stalled(size: int, sent: int, path: str = "/slack/events",
            content_type: str = "application/x-www-form-urlencoded") -> bytes:
    """Whole headers announcing a body of `size` bytes, and only `sent` of them."""
    return (f"POST {path} HTTP/1.1\r\nHost: touchpoint\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {size}\r\n\r\n").encode() + b"a" * sent


async def send_and_hold(url: str, data: bytes) -> Connection:
    """A connection that sends `data` and then nothing (but stays open on our side)."""
    host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    return reader, writer


async def said_before_closing(connection: Connection) -> bytes:
    """What the server said before it closed the connection (b"" when it said nothing)."""
    reader, writer = connection
    said = b""
    try:
        while chunk := await reader.read(65536):
            said += chunk
    finally:
        writer.close()
    return said
