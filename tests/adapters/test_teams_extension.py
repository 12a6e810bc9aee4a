"""The Teams message action ("Find a playbook for this message"): the captured
`composeExtension/fetchTask` and `submitAction` invokes posted to the real endpoint, the
dialog read from the invoke response, anything posted read from the fake connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fakes.teams_connector import FakeTeamsConnector
from test_teams import CHANNEL, FIXTURES, USER_AAD, Running, example, start

from adapters.teams import extension as teams_extension
from adapters.teams.cards import ACTION_KEY, PLAYBOOK_KEY
from bot.playbook_set import PlaybookSet
from touchpoint.settings import Settings


@pytest.fixture
async def server(library: PlaybookSet, teams_connector: FakeTeamsConnector
                 ) -> AsyncIterator[Running]:
    async with start(Settings(teams_dev=True), library, teams_connector) as running:
        yield running


def captured() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        (FIXTURES / "invoke_message_action_fetch_task.json").read_text())
    return raw


def fetch(server: Running, text: str = "", **changes: Any) -> dict[str, Any]:
    raw = server.activity("invoke_message_action_fetch_task.json", **changes)
    if text:
        raw["value"]["messagePayload"]["body"]["content"] = f"<div><p>{text}</p></div>"
    return raw


def dialog_card(body: str) -> dict[str, Any]:
    answer = json.loads(body)
    assert answer["task"]["type"] == "continue", answer
    card: dict[str, Any] = answer["task"]["value"]["card"]["content"]
    return card


def card_text(card: dict[str, Any]) -> str:
    return "\n".join(run.get("text", "") for block in card["body"]
                     for run in block.get("inlines", []))


def test_the_captured_invoke_asks_about_the_messages_own_words() -> None:
    raw = captured()
    msg = teams_extension.to_event(raw)
    assert msg is not None
    assert (msg.kind, msg.user, msg.channel) == ("shortcut", USER_AAD, CHANNEL)
    assert msg.text == "Other Person - the client says our quote is too high & wants a discount"


def test_other_commands_and_contexts_are_not_ours() -> None:
    raw = captured()
    raw["value"]["commandContext"] = "compose"
    assert teams_extension.to_event(raw) is None
    raw["value"].update(commandContext="message", commandId="somethingElse")
    assert teams_extension.to_event(raw) is None


async def test_the_message_action_answers_in_a_private_dialog_with_the_commands_buttons(
        server: Running, library: PlaybookSet) -> None:
    text, playbook_id = example(library)
    status, body = await server.post(fetch(server, text))
    assert status == 200
    card = dialog_card(body)
    assert library.by_id[playbook_id].title in card_text(card)
    assert [a["title"] for a in card["actions"]] == [
        "Share in channel", "Helpful", "Not helpful", "Show the whole playbook"]
    assert all(a["type"] == "Action.Submit" for a in card["actions"])
    assert card["actions"][1]["data"] == {ACTION_KEY: "helpful", PLAYBOOK_KEY: playbook_id}
    assert server.connector.posted == []  # nothing in the channel: only the asker saw it


async def test_a_dialog_button_comes_back_as_submit_action(
        server: Running, library: PlaybookSet) -> None:
    _, playbook_id = example(library)
    raw = server.activity("invoke_message_action_submit.json")
    raw["value"]["data"][PLAYBOOK_KEY] = playbook_id
    status, body = await server.post(raw)
    assert status == 200
    assert "Daily prompts" in card_text(dialog_card(body))
    raw = server.activity("invoke_message_action_submit.json", id="f:helpful-1")
    raw["value"]["data"] = {ACTION_KEY: "helpful", PLAYBOOK_KEY: playbook_id}
    status, body = await server.post(raw)
    assert json.loads(body) == {"task": {"type": "message", "value": "Glad it helped."}}
    assert await server.store.counters("helpful") == {f"helpful:{playbook_id}": 1}


async def test_share_posts_the_answer_to_the_channel_and_closes_the_dialog(
        server: Running, library: PlaybookSet) -> None:
    _, playbook_id = example(library)
    raw = server.activity("invoke_message_action_submit.json")
    raw["value"]["data"] = {ACTION_KEY: "share", PLAYBOOK_KEY: playbook_id}
    status, body = await server.post(raw)
    assert json.loads(body)["task"] == {"type": "message",
                                        "value": "Shared in the conversation."}
    [post] = await server.connector.wait_for(1)
    assert post.conversation == CHANNEL
    assert library.by_id[playbook_id].title in post.card_text


async def test_an_unknown_command_gets_a_polite_answer(server: Running) -> None:
    raw = fetch(server)
    raw["value"]["commandId"] = "somethingElse"
    status, body = await server.post(raw)
    assert status == 200 and json.loads(body)["task"]["type"] == "message"
    assert server.connector.requests == []
