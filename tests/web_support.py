"""Helpers for the manager-page tests: the pages on a real port, headless Chromium, screenshots.

The browser is Debian's `chromium` (installed by `.ci/run`), driven through
Playwright with `executable_path`: Playwright never downloads a browser here.
Its launch gives every browser a fresh temporary profile. A missing Chromium
fails the tests rather than skipping them, as a skip would go unnoticed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from bot.handler import Handler
from touchpoint import live
from touchpoint.metrics import Metrics
from touchpoint.settings import Settings
from touchpoint.web import app as web_pages

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]
HANG_GUARD_MS = 60_000
"""Playwright waits this long for a page or element before failing: a hang guard only."""
SHOTS_ENV = "TOUCHPOINT_SCREENSHOTS"
"""Set to a folder (e.g. docs/screenshots) to keep a copy of every screenshot there."""


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install -y chromium (or run .ci/run)",
                    pytrace=False)
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                               headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(HANG_GUARD_MS)
    return page


@asynccontextmanager
async def serving(handler: Handler, settings: Settings, *,
                  with_live: bool = False) -> AsyncIterator[str]:
    """The manager pages (and, `with_live`, the live reloader) on 127.0.0.1, a free port."""
    app = web.Application()
    if with_live:
        live.attach(app, handler, settings, handler.store, Metrics(), handle_sighup=False)
    web_pages.attach(app, handler, settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def screenshot(page: Page, folder: Path, name: str) -> Path:
    """Save the whole page; copy it to $TOUCHPOINT_SCREENSHOTS when that is set."""
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    keep = os.environ.get(SHOTS_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


PREFIXES = ("Microsoft", "TOUCHPOINT_", "SLACK_", "REDIS_")
"""Environment variables a developer's shell may set that would change what the CLI starts."""


@asynccontextmanager
async def cli_server(args: list[str], env: dict[str, str],
                     ready: str) -> AsyncIterator[tuple[str, list[str]]]:
    """`touchpoint ARGS --port 0` until its log names the port (`ready` has it as group 1)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "touchpoint.cli", *args, "--port", "0", cwd=ROOT,
        env={**clean, **env}, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        async with asyncio.timeout(HANG_GUARD_MS / 1000):
            assert process.stderr is not None
            while (found := re.search(ready, "".join(lines))) is None:
                line = (await process.stderr.readline()).decode()
                assert line, "exited before serving:\n" + "".join(lines)
                lines.append(line)
        yield f"http://127.0.0.1:{found.group(1)}", lines
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(HANG_GUARD_MS / 1000):
            await process.communicate()
    assert process.returncode == 0, "".join(lines)
