"""Try it draws the runner-up as a button that can be pressed: the page again, with the
playbook the bot's own "show" path answers."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from web_support import serving

from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.runner_up import runner_up
from touchpoint.settings import Settings

EVAL = Path(__file__).resolve().parents[1] / "data" / "eval_touchpoints.jsonl"


def with_runner_up(library: PlaybookSet) -> tuple[str, str]:
    for line in EVAL.read_text().splitlines():
        text = json.loads(line)["text"]
        found = library.matcher.match(text, "guide")
        second = runner_up(found, library.by_id)
        if second is not None:
            return text, second.playbook
    raise AssertionError("no message of the evaluation set has a runner-up")


async def test_the_runner_up_button_shows_its_playbook(library: PlaybookSet) -> None:
    text, second = with_runner_up(library)
    title = library.by_id[second].title
    handler = Handler(library, MemoryStore())
    async with serving(handler, Settings()) as url, aiohttp.ClientSession() as http:
        query = urlencode({"text": text, "where": "command"})
        async with http.get(f"{url}/manage/?{query}") as page:
            first = await page.text()
        pressed = "/manage/?" + urlencode({"text": text, "where": "command", "press": "show",
                                           "value": second})
        assert first.count(f'href="{html.escape(pressed)}"') == 2  # Slack and Teams
        assert f"Or: {html.escape(title)}" in first
        assert "Daily prompts" not in first
        async with http.get(url + pressed) as page:
            after = await page.text()
    assert page.status == 200
    assert after.count("Daily prompts") == 2  # the whole playbook, in both chats
    assert html.escape(library.by_id[second].nudge) in after
    assert await handler.store.counters() == {}
