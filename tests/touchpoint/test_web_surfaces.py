"""The manager pages draw Slack's App Home tab and Teams' message-action dialog from the
JSON the adapters send, and list each channel's switches; checked in headless Chromium.
With TOUCHPOINT_SCREENSHOTS=docs/screenshots the screenshots in the docs are made here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from web_support import chromium, new_page, screenshot, serving

from bot.channels import digest_space
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.schedule import Subscription
from touchpoint.settings import Settings

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


async def a_week(store: MemoryStore, library: PlaybookSet) -> None:
    week = "2026-W49"
    first, second = library.playbooks[0].id, library.playbooks[1].id
    await store.incr_counts(week, f"guide:{first}", 12)
    await store.incr_counts(week, f"helpful:{first}", 5)
    await store.incr_counts(week, f"nudge:{second}", 4)
    await store.incr_counts(week, f"not_helpful:{second}", 1)
    await store.subscribe("slack", "C0SALES01", Subscription(
        "slack", "C0SALES01", dt.time(9), "Europe/Berlin").to_json())
    await store.subscribe(digest_space("slack"), "C0LEADS01", Subscription(
        "slack", "C0LEADS01", dt.time(9), "UTC", (0,)).to_json())
    await store.set_nudges("slack", "C0SUPPORT", "slack:U0TEAMLEAD")


async def test_the_app_home_tab_as_slack_draws_it(library: PlaybookSet, shots: Path) -> None:
    store = MemoryStore()
    await a_week(store, library)
    handler = Handler(library, store, clock=NOW.timestamp)
    async with serving(handler, Settings()) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/home")
        tab = page.locator("[data-surface=app-home]")
        await tab.wait_for()
        shown = await tab.inner_text()
        assert library.playbooks[0].title in shown and library.playbooks[0].summary in shown
        assert "Mute my nudges" in shown
        assert "C0SALES01: 09:00 Europe/Berlin" in shown
        assert "C0LEADS01: 09:00 UTC, Mon" in shown
        assert "C0SUPPORT" in shown
        assert "This week (admins)" in shown and "guide 12" in shown
        assert await tab.locator(".button", has_text="Open").count() == min(
            len(library.playbooks), 40)
        await screenshot(page, shots, "app-home")


async def test_the_message_action_answer_in_slack_and_the_teams_dialog(
        library: PlaybookSet, shots: Path) -> None:
    handler = Handler(library, MemoryStore())
    async with serving(handler, Settings()) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/")
        await page.fill("#text", "the customer wants a discount on the renewal")
        await page.check("input[name=where][value=shortcut]")
        await page.click("form.try button[type=submit]")
        dialog = page.locator("[data-surface=message-action]")
        await dialog.wait_for()
        text = await dialog.inner_text()
        best = library.matcher.match("the customer wants a discount on the renewal",
                                     "guide").best
        assert best is not None
        assert library.by_id[best.playbook].title in text and "Why this playbook" in text
        buttons = await dialog.locator(".button").all_inner_texts()
        assert buttons[:4] == ["Share in channel", "Helpful", "Not helpful",
                               "Show the whole playbook"]
        slack = page.locator(".chat.slack")
        assert "Only visible to you" in await slack.inner_text()
        assert "Find a playbook for this message" in await slack.inner_text()
        await screenshot(page, shots, "message-action")


async def test_the_schedule_page_lists_channel_switches(library: PlaybookSet) -> None:
    store = MemoryStore()
    await a_week(store, library)
    handler = Handler(library, store, clock=NOW.timestamp)
    async with serving(handler, Settings()) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/schedule")
        off = page.locator("tr.nudges-off")
        await off.first.wait_for()
        assert "slack:C0SUPPORT" in await off.first.inner_text()
        assert "slack:U0TEAMLEAD" in await off.first.inner_text()
        assert "Mon" in await page.locator("tr.digest").first.inner_text()
