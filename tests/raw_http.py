"""HTTP requests written byte for byte, for headers no client library would send (invalid
UTF-8, non-ASCII), and the status the server answered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

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
