"""Bodies read up to a limit, over a real aiohttp server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from adapters.bodies import MAX_BODY, SMALL_BODY, gate, read_body

LIMIT = 1000
HANG_GUARD = 120.0


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        body = await read_body(request, LIMIT)
        return web.Response(status=413) if body is None else web.Response(body=body)

    app = web.Application()
    app.router.add_post("/", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for start in range(0, size, 300):
        yield b"x" * min(300, size - start)


@pytest.mark.parametrize("size", [0, 1, LIMIT - 1, LIMIT])
@pytest.mark.parametrize("how", ["sized", "chunked"])
async def test_a_body_within_the_limit_is_read_whole(url: str, size: int, how: str) -> None:
    data = io.BytesIO(b"x" * size) if how == "sized" else _chunks(size)
    async with aiohttp.ClientSession() as http, http.post(url, data=data) as resp:
        assert (resp.status, len(await resp.read())) == (200, size)


@pytest.mark.parametrize("size", [LIMIT + 1, 50 * LIMIT])
@pytest.mark.parametrize("how", ["sized", "chunked"])
async def test_a_body_over_the_limit_is_refused(url: str, size: int, how: str) -> None:
    data = io.BytesIO(b"x" * size) if how == "sized" else _chunks(size)
    async with aiohttp.ClientSession() as http, http.post(url, data=data) as resp:
        assert resp.status == 413


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, lingering_time=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


def _gated(timeout: float, slots: int) -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        body = await read_body(request, MAX_BODY)
        return web.Response(status=413) if body is None else web.Response(text=str(len(body)))

    app = web.Application()
    gate(app, timeout, slots)
    app.router.add_post("/", echo)
    return app


async def _stalling(url: str, size: int, sent: int) -> tuple[asyncio.StreamReader,
                                                              asyncio.StreamWriter]:
    """A request whose body stops after `sent` of its `size` bytes."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n\r\n".encode()
                 + b"x" * sent)
    await writer.drain()
    return reader, writer


async def test_a_body_that_stops_arriving_is_answered_408() -> None:
    runner, url = await _serve(_gated(timeout=0.5, slots=4))
    try:
        reader, writer = await _stalling(url, 5000, 10)
        answer = await reader.read()
        writer.close()
    finally:
        await runner.cleanup()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_large_bodies_wait_for_a_slot_and_small_ones_never_do() -> None:
    """One slot, held by a large body that stalls: a small body is read at once, another
    large one once the first has arrived whole."""
    runner, url = await _serve(_gated(timeout=HANG_GUARD, slots=1))
    try:
        size = 2 * SMALL_BODY
        reader, writer = await _stalling(url, size, SMALL_BODY + 10)
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=b"z" * 1000) as resp:
                assert (resp.status, await resp.text()) == (200, "1000")
            large = asyncio.ensure_future(http.post(url, data=b"y" * (SMALL_BODY + 1)))
            async with http.post(url, data=b"z" * 1000) as resp:
                assert (resp.status, await resp.text()) == (200, "1000")
            assert not large.done()
            writer.write(b"x" * (size - SMALL_BODY - 10))
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
            writer.close()
            async with await large as resp:
                assert (resp.status, await resp.text()) == (200, str(SMALL_BODY + 1))
    finally:
        await runner.cleanup()
