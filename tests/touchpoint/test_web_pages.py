"""The manager pages in headless Chromium: try a message, open a playbook, read the charts,
see the schedule. One screenshot of each view is saved in the test's temporary folder."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from live_support import break_weight, copy_playbooks
from redis.asyncio import Redis
from web_support import chromium, new_page, screenshot, serving

from adapters.redis_store import RedisStore
from adapters.slack.workspaces import ChannelTeams
from bot import analytics
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.schedule import Subscription
from touchpoint.settings import Settings


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


async def test_try_a_message_shows_the_answer_the_playbook_score_triggers_and_near_misses(
        library: PlaybookSet, shots: Path) -> None:
    store = MemoryStore()
    handler = Handler(library, store)
    async with serving(handler, Settings()) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/")
        assert page.url == f"{url}/manage/"
        await page.fill("#text", "the customer wants a discount on the renewal")
        await page.check("input[name=where][value=command]")
        await page.click("form.try button[type=submit]")
        decision = page.locator(".decision")
        await decision.wait_for()
        assert await decision.locator("h3 [data-playbook]").get_attribute(
            "data-playbook") == "price-objection"
        score = float(await decision.locator("h3 + p .score").get_attribute("data-score") or 0)
        assert score >= library.matcher.tuning.guide_threshold
        kinds = await decision.locator("h3 ~ ul.evidence > li").evaluate_all(
            "items => items.map(i => i.dataset.kind)")
        assert "phrase" in kinds
        assert 'phrase "discount"' in await decision.locator("ul.evidence").first.inner_text()
        misses = decision.locator("tr.near-miss")
        assert await misses.first.get_attribute("data-playbook") == "renewal"
        slack = page.locator(".chat.slack")
        assert "Only visible to you" in await slack.inner_text()
        assert "Price objection" in await slack.locator(".slack-message b").all_inner_texts()
        assert await slack.locator(".button.primary").inner_text() == "Helpful"
        teams = page.locator(".chat.teams .card")
        assert "Why this playbook" in await teams.inner_text()
        await screenshot(page, shots, "try-it")

        await page.fill("#text", "on-call handoff at 6, <b>bold</b> & <script>x</script>")
        await page.check("input[name=where][value=channel]")
        await page.click("form.try button[type=submit]")
        await page.locator(".decision h3").wait_for()
        assert await page.locator(".decision h3").inner_text() == "No playbook"
        assert await page.locator(".chat.slack .quiet").inner_text() == "The bot stays quiet."
        said = await page.locator(".chat.slack .said").inner_text()
        assert said == "on-call handoff at 6, <b>bold</b> & <script>x</script>"
        assert await page.locator(".chat b:has-text('bold')").count() == 0
    # Trying messages counts nothing, starts no cooldown and keeps no question.
    week = analytics.iso_week(time.time())
    assert await store.counters() == {}
    assert await store.week_counters(week) == {}
    assert await store.questions(week, 10) == []
    assert await store.first_time("cooldown:slack:try-it:renewal", 60)


async def test_open_a_playbook_and_see_the_live_version_and_a_rejected_reload(
        tmp_path: Path, shots: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    from touchpoint.loader import load_folder

    handler = Handler(load_folder(folder, version="0123456789abcdef"), MemoryStore())
    settings = Settings(playbooks=folder, watch_interval=0)
    async with serving(handler, settings, with_live=True) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/playbooks")
        status = await page.locator(".status").inner_text()
        assert "3 playbooks live, version 0123456789ab" in status
        assert await page.locator("[role=alert]").count() == 0
        folded = page.locator("details#price-objection")
        assert not await folded.locator("ol.steps").is_visible()
        await folded.locator("> summary").click()
        assert await folded.locator("ol.steps li").first.is_visible()
        assert "Daily prompts" in await folded.inner_text()
        await page.click("a.open[data-playbook=price-objection]")
        await page.locator("h1").wait_for()
        assert page.url.endswith("/manage/playbooks/price-objection")
        assert "Price objection" in await page.locator("h1").inner_text()
        steps = await page.locator("ol.steps li").all_inner_texts()
        assert steps == list(handler.playbooks.by_id["price-objection"].guidance)
        assert await page.locator("blockquote.nudge").inner_text() == \
            handler.playbooks.by_id["price-objection"].nudge
        assert "Show the whole playbook" in await page.locator(".chat.slack").inner_text()
        await screenshot(page, shots, "playbook")

        line = break_weight(folder / "renewal.yaml")
        await page.goto(f"{url}/manage/playbooks")
        await page.click("form[action='/manage/reload'] button")
        alert = page.locator(".status [role=alert]")
        await alert.wait_for()
        assert f"renewal.yaml:{line}:" in await alert.inner_text()
        assert "still served" in await alert.inner_text()
        assert "3 playbooks live" in await page.locator(".status").inner_text()
        await screenshot(page, shots, "playbooks")
    assert handler.playbooks.version == "0123456789abcdef"


async def test_a_chart_is_drawn_from_the_weekly_counters_in_the_store(
        library: PlaybookSet, shots: Path) -> None:
    store = MemoryStore()
    now = time.time()
    weeks = analytics.recent_weeks(now, 12)  # newest first
    seeded = {"guide": [5, 3, 0, 1], "nudge": [2, 0, 4, 0], "helpful": [3, 1, 0, 0],
              "not_helpful": [1, 0, 0, 2]}
    for kind, counts in seeded.items():
        for week, count in zip(weeks, counts, strict=False):
            if count:
                await store.incr_week(week, f"{kind}:price-objection", count)
    await store.incr_week(weeks[1], "guide:renewal", 7)
    for text in ("do we have a playbook for trade fairs?", "what about parking fines",
                 "Do we have a playbook for trade fairs"):
        await store.add_question(weeks[0], text, analytics.QUESTIONS_KEPT)
    await store.add_question(weeks[2], "do we have a playbook for trade fairs",
                             analytics.QUESTIONS_KEPT)
    handler = Handler(library, store, clock=lambda: now)
    async with serving(handler, Settings()) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/analytics")
        chart = page.locator("figure[data-playbook=price-objection] svg.chart")
        await chart.wait_for()
        for kind, counts in seeded.items():
            drawn = await chart.locator(f"g[data-series={kind}]").get_attribute("data-values")
            expected = list(reversed(counts + [0] * (12 - len(counts))))
            assert drawn == ",".join(map(str, expected)), kind
            points = await chart.locator(f"g[data-series={kind}] polyline").get_attribute(
                "points")
            assert points is not None and len(points.split()) == 12
        assert await chart.locator("g[data-series=guide] circle").count() == 12
        box = await chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80
        renewal = page.locator("figure[data-playbook=renewal] g[data-series=guide]")
        assert (await renewal.get_attribute("data-values") or "").endswith("7,0")
        assert "customer-gift" in await page.locator("p.quiet-playbooks").inner_text()
        questions = page.locator("ol.questions li")
        first = await questions.first.inner_text()
        assert "trade fairs" in first and "×3" in first
        assert await questions.count() == 2
        explained = await page.locator("p.muted", has_text="most frequent first").inner_text()
        assert f"({analytics.SCRUBBED} removed)" in explained
        await screenshot(page, shots, "analytics")
        await questions.first.locator("a").click()
        await page.locator(".decision").wait_for()
        assert "trade fairs" in await page.locator("#text").input_value()
    assert await store.counters() == {}


async def test_the_analytics_workspace_picker_shows_one_workspaces_counts(
        library: PlaybookSet, redis_url: str, redis_prefix: str, shots: Path) -> None:
    """Installed in two Slack workspaces: the picker offers both (and what no workspace
    counted), the first is shown, and choosing the other shows its counts and questions."""
    now = time.time()
    week = analytics.iso_week(now)
    store = RedisStore.from_url(redis_url, redis_prefix)
    async with Redis.from_url(redis_url) as client:
        channels = ChannelTeams(client, redis_prefix)
        for channel, team in (("C0ONE", "-:T0ONE"), ("C0TWO", "E0ORG:T0TWO")):
            await channels.remember(channel, team)
        one, two = store.for_team("-:T0ONE"), store.for_team("E0ORG:T0TWO")
        await one.incr_counts(week, "guide:price-objection", 3)
        await one.add_question(week, "where is the booth at the fair", analytics.QUESTIONS_KEPT)
        await two.incr_counts(week, "nudge:renewal", 5)
        await two.add_question(week, "what about parking fines", analytics.QUESTIONS_KEPT)
        await store.incr_counts(week, "guide:customer-gift", 2)  # counted in no workspace
        handler = Handler(library, store, clock=lambda: now)
        try:
            async with serving(handler, Settings(), workspaces=channels) as url, \
                    chromium() as browser:
                page = await new_page(browser)
                await page.goto(f"{url}/manage/analytics?weeks=4")
                picker = page.locator("select[name=team]")
                await picker.wait_for()
                offered = await picker.locator("option").evaluate_all(
                    "options => options.map(o => [o.value, o.selected])")
                assert offered == [["-:T0ONE", True], ["E0ORG:T0TWO", False], ["", False]]

                async def drawn(playbook: str, series: str) -> str:
                    found = page.locator(f"figure[data-playbook={playbook}] "
                                         f"g[data-series={series}]")
                    return await found.get_attribute("data-values") if await found.count() \
                        else ""

                assert (await drawn("price-objection", "guide")).endswith(",3")
                assert await drawn("renewal", "nudge") == ""
                assert await drawn("customer-gift", "guide") == ""
                questions = await page.locator("ol.questions").inner_text()
                assert "booth" in questions and "parking" not in questions
                await screenshot(page, shots, "analytics-workspace")

                await picker.select_option("E0ORG:T0TWO")
                await page.click("form.inline button[type=submit]")
                await page.wait_for_url("**team=E0ORG%3AT0TWO**")
                assert await page.locator("select[name=team]").input_value() == "E0ORG:T0TWO"
                assert await page.locator("select[name=weeks]").input_value() == "4"
                assert (await drawn("renewal", "nudge")).endswith(",5")
                assert await drawn("price-objection", "guide") == ""
                questions = await page.locator("ol.questions").inner_text()
                assert "parking" in questions and "booth" not in questions

                await page.locator("select[name=team]").select_option("")
                await page.click("form.inline button[type=submit]")
                await page.wait_for_url("**team=&**")
                assert (await drawn("customer-gift", "guide")).endswith(",2")
                assert await drawn("renewal", "nudge") == ""
                assert await page.locator("ol.questions").count() == 0
        finally:
            await store.close()


async def test_the_schedule_lists_the_next_prompt_of_each_channel(
        library: PlaybookSet, tmp_path: Path, shots: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    (folder / "schedule.yaml").write_text(
        "prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: \"09:00\"\n"
        "    zone: Europe/Berlin\n    playbooks: [renewal]\n")
    store = MemoryStore()
    chat = Subscription("teams", "19:abc@thread.tacv2", dt.time(16, 30), "Asia/Tokyo",
                        (0, 1, 2, 3, 4, 5, 6))
    await store.subscribe("teams", chat.channel, chat.to_json())
    await store.flag("teams", chat.channel, "the bot was removed")
    now = dt.datetime(2026, 3, 4, 7, 0, tzinfo=dt.UTC)  # a Wednesday
    handler = Handler(library, store, clock=now.timestamp)
    async with serving(handler, Settings(playbooks=folder)) as url, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{url}/manage/schedule")
        rows = page.locator("tr.planned")
        await rows.first.wait_for()
        assert await rows.count() == 2
        slack = await page.locator("tr[data-channel='slack:C0123SALES']").inner_text()
        assert "Wed 04 Mar 09:00" in slack and "08:00" in slack and "1 h" in slack
        assert "schedule.yaml:2" in slack and "scheduled" in slack
        teams = await page.locator("tr[data-channel^='teams:']").inner_text()
        assert "Wed 04 Mar 16:30" in teams and "skipped: the bot was removed" in teams
        assert await rows.first.get_attribute("data-channel") == "teams:19:abc@thread.tacv2"
        await screenshot(page, shots, "schedule")
