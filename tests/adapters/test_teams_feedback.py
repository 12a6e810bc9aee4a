"""The "Not helpful" form on Teams end to end: the card's inputs come back merged into the
pressed action's data (Action.Execute invoke, or Action.Submit message), answers go to the
fake Bot Framework connector, and the correction is kept in a real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fakes.teams_connector import FakeTeamsConnector, Recorded
from test_teams import Running, actions_of, example, mention, start

from adapters.redis_store import RedisStore
from adapters.teams import feedback as teams_feedback
from adapters.teams.cards import ACTION_KEY
from bot import analytics, feedback
from bot.playbook_set import PlaybookSet
from touchpoint.settings import Settings


@pytest.fixture
async def server(library: PlaybookSet, teams_connector: FakeTeamsConnector, redis_url: str,
                 redis_prefix: str) -> AsyncIterator[Running]:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    async with start(Settings(teams_dev=True), library, teams_connector,
                     store=store) as running:
        yield running
    await store.close()


def executed(server: Running, action: dict[str, Any], data: dict[str, Any],
             activity_id: str) -> dict[str, Any]:
    """The captured Action.Execute invoke for `action`, with `data` as Teams sends it."""
    raw = server.activity("invoke_adaptive_card_action.json", id=activity_id)
    raw["value"]["action"] = {"type": "Action.Execute", "title": action["title"],
                              "verb": action["verb"], "data": data}
    return raw


async def open_form(server: Running, library: PlaybookSet) -> tuple[Recorded, str, str]:
    """Ask in a channel, press "Not helpful": the form card, the shown playbook, the question."""
    text, shown = example(library)
    assert (await server.post(server.activity("message.json", **mention(text))))[0] == 200
    [guide] = await server.connector.wait_for(1)
    not_helpful = next(a for a in actions_of(guide) if a["title"] == "Not helpful")
    status, body = await server.post(executed(server, not_helpful, not_helpful["data"],
                                              "f:press-1"))
    assert status == 200 and json.loads(body)["value"].startswith("Thanks")
    form = (await server.connector.wait_for(2))[1]
    return form, shown, text


async def kept(server: Running) -> list[feedback.Correction]:
    return await feedback.read_corrections(server.store, [analytics.iso_week(time.time())])


async def test_the_form_card_submitted_with_action_execute_is_kept(
        server: Running, library: PlaybookSet) -> None:
    form, shown, text = await open_form(server, library)
    card = form.card
    assert card is not None
    choice = next(i for i in card["body"] if i["type"] == "Input.ChoiceSet")
    why = next(i for i in card["body"] if i["type"] == "Input.Text")
    values = [c["value"] for c in choice["choices"]]
    assert choice["isRequired"] and values[-1] == feedback.NONE and shown not in values
    assert why["id"] == teams_feedback.WHY_ID and why["maxLength"] == feedback.MAX_WHY
    [send] = actions_of(form)
    assert send["type"] == "Action.Execute" and send["fallback"]["type"] == "Action.Submit"
    chosen = values[0]
    data = {**send["data"], teams_feedback.CHOICE_ID: chosen,
            teams_feedback.WHY_ID: "ring 0176 1234 5678, it was about seats"}
    status, body = await server.post(executed(server, send, data, "f:send-1"))
    assert status == 200
    assert json.loads(body)["value"] == feedback.THANKS
    [correction] = await kept(server)
    assert (correction.shown, correction.chosen) == (shown, chosen)
    assert correction.question == analytics.scrub_question(text)
    assert "<number>" in correction.why and "5678" not in correction.why


async def test_the_form_submitted_with_action_submit_is_kept_and_thanked(
        server: Running, library: PlaybookSet) -> None:
    form, shown, _ = await open_form(server, library)
    [send] = actions_of(form)
    value = {**send["fallback"]["data"], teams_feedback.CHOICE_ID: feedback.NONE}
    raw = server.activity("message_card_submit.json", value=value)
    assert (await server.post(raw))[0] == 200
    thanks = (await server.connector.wait_for(3))[2]
    assert thanks.text == feedback.THANKS
    [correction] = await kept(server)
    assert (correction.shown, correction.chosen, correction.why) == (shown, feedback.NONE, "")


async def test_inputs_the_card_cannot_send_are_ignored(server: Running,
                                                       library: PlaybookSet) -> None:
    form, _, _ = await open_form(server, library)
    [send] = actions_of(form)
    for number, bad in enumerate(([feedback.NONE], "x" * 500, "")):
        data = {**send["data"], teams_feedback.CHOICE_ID: bad}
        status, _ = await server.post(executed(server, send, data, f"f:bad-{number}"))
        assert status == 200
    no_context = {ACTION_KEY: feedback.SUBMIT, teams_feedback.CHOICE_ID: feedback.NONE}
    assert (await server.post(executed(server, send, no_context, "f:bad-9")))[0] == 200
    assert await kept(server) == []
