"""Live playbooks through Slack: the running server reloads edits, admins reload and read stats.

The server is built as `serve` builds it (`make_handler`, the Slack adapter,
`live.attach` with the admin poster) on a temporary copy of a few playbooks;
requests are signed Slack requests and replies are read from the fake Slack API.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from fakes.slack_api import Call, FakeSlackAPI
from live_support import break_weight, copy_playbooks, eventually, retitle
from slack_harness import FORM, command_body, settings_for, signed_headers

from adapters.slack import app as slack
from bot.handler import Handler
from bot.memory_store import MemoryStore
from touchpoint import live
from touchpoint.metrics import Metrics
from touchpoint.server import admin_poster, build_app, make_handler, outbounds_of

ADMIN = "U0ADMIN01"
MEMBER = "U0MEMBER1"
ADMIN_CHANNEL = "C0ADMINS1"


@dataclass
class Live:
    url: str
    http: aiohttp.ClientSession
    handler: Handler
    adapter: slack.SlackAdapter
    api: FakeSlackAPI
    folder: Path

    async def command(self, text: str, user: str) -> Call:
        """Send `/touchpoint text` as `user`; the ephemeral answer Slack was asked to show."""
        before = len(self.api.calls("chat.postEphemeral"))
        body = command_body(text, user=user)
        async with self.http.post(self.url + "/slack/events", data=body,
                                  headers=signed_headers(body, FORM)) as response:
            assert response.status == 200
        await self.adapter.drain()
        calls = await self.api.wait_for("chat.postEphemeral", before + 1)
        return calls[before]


def text_of(call: Call) -> str:
    parts = [call.body.get("text", "")]
    for block in call.body.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
    return "\n".join(parts)


@asynccontextmanager
async def serving(slack_api: FakeSlackAPI, folder: Path, **overrides: Any,
                  ) -> AsyncIterator[Live]:
    settings = settings_for(slack_api, playbooks=folder, admins=(ADMIN,),
                            admin_channel=f"slack:{ADMIN_CHANNEL}", **overrides)
    store = MemoryStore()
    handler = make_handler(settings, store)
    app = build_app(settings, handler)
    adapter = slack.attach(app, handler, settings.slack)
    outbounds = outbounds_of(app, [adapter], store)
    live.attach(app, handler, settings, store, Metrics(), admin_poster(settings, outbounds),
                handle_sighup=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Live(str(server.make_url("")).rstrip("/"), http, handler, adapter, slack_api,
                       folder)
    finally:
        await server.close()


async def test_an_edit_is_served_without_a_restart(slack_api: FakeSlackAPI,
                                                   tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    async with serving(slack_api, folder, watch_interval=0.05) as tp:
        before = tp.handler.playbooks
        retitle(folder / "renewal.yaml", "Renewal, the new way")
        await eventually(lambda: tp.handler.playbooks.by_id["renewal"].title
                         == "Renewal, the new way", "the watcher to reload the edit")
        assert tp.handler.playbooks is not before
        answer = await tp.command("show renewal", MEMBER)
        assert "Renewal, the new way" in text_of(answer)


async def test_an_invalid_edit_keeps_the_last_good_set_and_tells_the_admins(
        slack_api: FakeSlackAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    caplog.set_level(logging.ERROR, logger="touchpoint.reload")
    async with serving(slack_api, folder, watch_interval=0.05) as tp:
        good = tp.handler.playbooks
        line = break_weight(folder / "renewal.yaml")
        [report] = await slack_api.wait_for("chat.postMessage", 1, timeout=60)
        where = f"renewal.yaml:{line}:"
        assert report.body["channel"] == ADMIN_CHANNEL
        assert where in text_of(report) and "Still serving the last good set" in text_of(report)
        assert where in caplog.text
        assert tp.handler.playbooks is good
        answer = await tp.command("show renewal", MEMBER)
        assert good.by_id["renewal"].title in text_of(answer)
        # An admin asking gets the errors in the answer itself.
        answer = await tp.command("reload", ADMIN)
        assert where in text_of(answer) and "rejected" in text_of(answer)
        assert tp.handler.playbooks is good
        assert len(slack_api.calls("chat.postMessage")) == 1, "reported once, not every poll"


async def test_only_admins_reload(slack_api: FakeSlackAPI, tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    async with serving(slack_api, folder, watch_interval=0) as tp:
        retitle(folder / "renewal.yaml", "Renewal v2")
        answer = await tp.command("reload", MEMBER)
        assert "Only Touchpoint admins can reload" in text_of(answer)
        assert tp.handler.playbooks.by_id["renewal"].title != "Renewal v2"
        answer = await tp.command("reload", ADMIN)
        assert "Reloaded: 3 playbooks live" in text_of(answer)
        assert tp.handler.playbooks.by_id["renewal"].title == "Renewal v2"
        answer = await tp.command("reload", ADMIN)
        assert "No change: 3 playbooks live" in text_of(answer)


async def test_only_admins_read_stats(slack_api: FakeSlackAPI, tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    async with serving(slack_api, folder, watch_interval=0) as tp:
        example = tp.handler.playbooks.by_id["price-objection"].examples.match[0]
        await tp.command(example, MEMBER)
        await tp.command("<@U0SOMEONE1> xyzzy plugh frobnicate", MEMBER)
        answer = await tp.command("stats", MEMBER)
        assert "Only Touchpoint admins" in text_of(answer)
        answer = await tp.command("stats", ADMIN)
        shown = text_of(answer)
        assert "price-objection: guide 1" in shown
        assert "Questions no playbook answered (1)" in shown
        assert "U0SOMEONE1" not in shown and "xyzzy plugh frobnicate" in shown
