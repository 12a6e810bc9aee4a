"""`nudges off|on` end to end: the Slack slash command and the Teams @mention switch a
channel's nudges, and a customer moment there then gets no nudge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.slack_api import FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from slack_harness import message_event, running, texts_that_match
from test_teams import Running, example, mention, start

from bot.playbook_set import PlaybookSet
from touchpoint.settings import Settings


@pytest.fixture
async def teams_server(library: PlaybookSet, teams_connector: FakeTeamsConnector
                       ) -> AsyncIterator[Running]:
    async with start(Settings(teams_dev=True), library, teams_connector) as running_:
        yield running_


async def test_slack_nudges_off_then_on(slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    text, _ = texts_that_match(library, "nudge")[0]
    async with running(slack_api, library) as tp:
        await tp.command("nudges off")
        [said] = await slack_api.wait_for("chat.postEphemeral")
        assert "Nudges are off in this channel" in said.body["text"]
        await tp.event(message_event(text))
        await tp.settle()
        assert slack_api.calls("chat.postMessage") == []
        await tp.command("nudges on")
        await tp.event(message_event(text))
        await slack_api.wait_for("chat.postMessage")
        await tp.settle()
    assert await tp.handler.store.nudges_off("slack") == {}


async def test_teams_mention_switches_the_channels_nudges(teams_server: Running,
                                                          library: PlaybookSet) -> None:
    raw = teams_server.activity("message.json", **mention("nudges off"))
    assert (await teams_server.post(raw))[0] == 200
    [post] = await teams_server.connector.wait_for(1)
    assert "Nudges are off in this channel" in post.text
    channel = raw["conversation"]["id"].split(";")[0]
    assert channel in await teams_server.store.nudges_off("teams")
    text, _ = example(library, "nudge")
    quiet = teams_server.activity("message.json", text=text, entities=[], id="1700000000999")
    assert (await teams_server.post(quiet))[0] == 200
    assert len(teams_server.connector.posted) == 1
    on = teams_server.activity("message.json", **mention("nudges on"), id="1700000001000")
    assert (await teams_server.post(on))[0] == 200
    again = teams_server.activity("message.json", text=text, entities=[], id="1700000001001")
    assert (await teams_server.post(again))[0] == 200
    posts = await teams_server.connector.wait_for(3)
    assert "Show the whole playbook" in posts[2].card_text
