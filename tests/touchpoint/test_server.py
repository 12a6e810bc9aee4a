"""`touchpoint serve` under clients that never finish a request (slow-loris), as a real process.

Half-sent headers and stalled bodies each hold a connection and its buffers;
the server must keep answering while they are open, close every one of them by
itself, and give the memory back.
"""

from __future__ import annotations

import asyncio
import resource
import sys
from pathlib import Path

import aiohttp
import pytest
from fakes.slack_api import FakeSlackAPI
from live_support import eventually
from serve_process import HANG_GUARD, Instance, rss, serving
from test_serve_slack import clean_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from slack_harness import FORM, SECRET, TOKEN, command_body, signed_headers  # noqa: E402

from touchpoint.server import public_state  # noqa: E402
from touchpoint.settings import Settings, SettingsError  # noqa: E402

HALF_SENT = 500
"""Connections that send part of their headers, then nothing."""
STALLED = 100
"""Connections that send their headers and most of a 1 MiB body, then nothing."""
STALLED_SMALL = 100
"""Connections that send their headers and a few bytes of a small body, then nothing."""
MEGABYTE = 1024 * 1024
MEMORY_SLACK = 40 * MEGABYTE
"""What the attack may leave behind: allocator arenas and caches, not the bodies."""


def _more_open_files() -> None:
    """This test opens some 700 connections: more than the usual soft limit of 1024 allows
    next to everything else the session holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (hard == resource.RLIM_INFINITY and soft < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _send(server: Instance, data: bytes) -> Connection:
    """A connection that sends `data` and then nothing (but stays open on our side)."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    return reader, writer


def _half_sent() -> bytes:
    return b"POST /slack/events HTTP/1.1\r\nHost: touchpoint\r\nX-Slow: 1"


def _stalled(size: int, sent: int) -> bytes:
    return (f"POST /slack/events HTTP/1.1\r\nHost: touchpoint\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {size}\r\n\r\n").encode() + b"a" * sent


async def _closed_by_the_server(connection: Connection) -> bytes:
    """What the server said before it closed the connection (b"" when it said nothing)."""
    reader, writer = connection
    said = b""
    try:
        while chunk := await reader.read(65536):
            said += chunk
    finally:
        writer.close()
    return said


async def _answers(http: aiohttp.ClientSession, server: Instance,
                   slack_api: FakeSlackAPI, count: int) -> None:
    """`/healthz` and a signed slash command are answered, as on a calm day."""
    async with http.get(server.url + "/healthz") as resp:
        assert resp.status == 200
    body = command_body("help", trigger=f"slow.{count}")
    async with http.post(server.url + "/slack/events", data=body,
                         headers=signed_headers(body, FORM)) as resp:
        assert resp.status == 200
    await slack_api.wait_for("chat.postEphemeral", count)


async def test_half_sent_requests_and_stalled_bodies_are_cut_off_and_leave_no_trace(
        slack_api: FakeSlackAPI) -> None:
    _more_open_files()
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=slack_api.url, TOUCHPOINT_HEADER_TIMEOUT="2",
                    TOUCHPOINT_BODY_TIMEOUT="2", TOUCHPOINT_BODY_READS="4")
    timeout = aiohttp.ClientTimeout(total=HANG_GUARD)
    async with serving(env) as server, aiohttp.ClientSession(timeout=timeout) as http:
        for warm_up in range(1, 4):
            await _answers(http, server, slack_api, warm_up)
        before = rss(server)
        attackers = [await _send(server, _half_sent()) for _ in range(HALF_SENT)]
        attackers += [await _send(server, _stalled(MEGABYTE, 900 * 1024))
                      for _ in range(STALLED)]
        attackers += [await _send(server, _stalled(5000, 100)) for _ in range(STALLED_SMALL)]
        await _answers(http, server, slack_api, 4)
        said = await asyncio.wait_for(
            asyncio.gather(*(_closed_by_the_server(r) for r in attackers)), HANG_GUARD)
        await _answers(http, server, slack_api, 5)
        await eventually(lambda: rss(server) < before + MEMORY_SLACK,
                         "the memory to come back", HANG_GUARD)
    assert all(s == b"" for s in said[:HALF_SENT])
    assert all(s.startswith(b"HTTP/1.1 408 ") for s in said[HALF_SENT:]), \
        {s[:40] for s in said[HALF_SENT:]}
    assert "Traceback" not in server.log and " ERROR " not in server.log, server.log


def test_the_limits_are_settings() -> None:
    settings = Settings.from_env({"TOUCHPOINT_HEADER_TIMEOUT": "5",
                                  "TOUCHPOINT_BODY_TIMEOUT": "7", "TOUCHPOINT_BODY_READS": "8"})
    assert (settings.header_timeout, settings.body_timeout, settings.body_reads) == (5, 7, 8)
    for name, bad in (("TOUCHPOINT_HEADER_TIMEOUT", "0"), ("TOUCHPOINT_BODY_TIMEOUT", "soon"),
                      ("TOUCHPOINT_BODY_READS", "2.5")):
        try:
            Settings.from_env({name: bad})
        except SettingsError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"{name}={bad} was accepted")


@pytest.mark.parametrize("state", [
    "degraded: redis unreachable (ConnectionError: Error 111 connecting to 10.0.0.5:6379.)",
    "degraded: redis unreachable (ConnectionError: Error -2 connecting to redis.internal:6380.)",
    "degraded: redis unreachable (ConnectionError: Error 111 connecting to [fd00::5]:6379.)",
    "degraded: redis unreachable (ConnectionError: Error 2 connecting to unix socket: "
    "/var/run/redis/redis.sock. No such file or directory.)",
])
def test_healthz_states_name_no_address(state: str) -> None:
    shown = public_state(state)
    assert shown.startswith("degraded: redis unreachable (ConnectionError: Error ")
    for secret in ("10.0.0.5", "6379", "redis.internal", "fd00::5", "/var/run"):
        assert secret not in shown
    assert public_state("ok") == "ok"
