"""Bodies read up to a limit, over a real aiohttp server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from adapters.bodies import read_body

LIMIT = 1000


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
