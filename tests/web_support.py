"""Helpers for the manager-page tests: the pages on a real port, headless Chromium, screenshots.

The browser is Debian's `chromium` (installed by `.ci/run`), driven through
Playwright with `executable_path`: Playwright never downloads a browser here.
Its launch gives every browser a fresh temporary profile. A missing Chromium
fails the tests rather than skipping them, as a skip would go unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import serve_process
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from adapters.slack.workspaces import ChannelTeams
from bot.handler import Handler
from touchpoint import live
from touchpoint.metrics import Metrics
from touchpoint.settings import Settings
from touchpoint.slack_installs import WORKSPACES_KEY
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
async def serving(handler: Handler, settings: Settings, *, with_live: bool = False,
                  local: bool = True,
                  workspaces: ChannelTeams | None = None) -> AsyncIterator[str]:
    """The manager pages (and, `with_live`, the live reloader) on 127.0.0.1, a free port;
    `local`: without a token, served to this machine as `touchpoint preview` does;
    `workspaces`: the Slack workspaces served, as Slack installs give them to the pages."""
    app = web.Application()
    if workspaces is not None:
        app[WORKSPACES_KEY] = workspaces
    if with_live:
        live.attach(app, handler, settings, handler.store, Metrics(), handle_sighup=False)
    web_pages.attach(app, handler, settings, local=local)
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


@asynccontextmanager
async def cli_server(args: list[str], env: dict[str, str],
                     ready: str) -> AsyncIterator[tuple[str, list[str]]]:
    """`touchpoint ARGS --port 0`, once its log says `ready` (with the port as group 1)."""
    async with serve_process.serving({**serve_process.clean_environment(), **env},
                                     *args) as instance:
        found = re.search(ready, instance.log)
        assert found, instance.log
        yield f"http://127.0.0.1:{found.group(1)}", instance.lines
