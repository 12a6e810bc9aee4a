"""Teams activities as the core's events: pure, on captured wire JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.teams import activity as teams_activity
from adapters.teams import cards as teams_cards
from bot.events import ButtonPressed, Said
from bot.messages import Button

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
USER_AAD = "00000000-1111-2222-3333-444444444444"


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    raw.update(changes)
    return raw


def test_channel_mention_becomes_a_mention_without_the_at() -> None:
    message = teams_activity.to_event(fixture("message.json"))
    assert isinstance(message, Said)
    assert message.kind == "mention"
    assert message.text == "Hey"
    assert message.platform == "teams"
    assert message.user == USER_AAD
    assert message.channel == CHANNEL
    assert message.thread == "1771290107407"
    assert message.id == f"{CHANNEL}/1771290107407"


def test_channel_message_without_mention_is_for_nudges() -> None:
    message = teams_activity.to_event(fixture("message.json", text="the client is upset",
                                             entities=[]))
    assert message is not None and message.kind == "channel"
    assert teams_activity.to_event(fixture("message.json", text="", entities=[])) is None


def test_personal_chat_is_direct() -> None:
    message = teams_activity.to_event(fixture("personal_message.json"))
    assert isinstance(message, Said) and message.kind == "direct" and message.thread == ""
    assert message.text == "Hey"


def test_mention_of_someone_else_keeps_their_name() -> None:
    raw = fixture("message.json", text="<at>FakeBot</at> <at>Alex</at> says the client is upset")
    raw["entities"].append({"type": "mention", "text": "<at>Alex</at>",
                            "mentioned": {"id": "29:alex", "name": "Alex"}})
    assert teams_activity.typed_text(raw) == "Alex says the client is upset"


@pytest.mark.parametrize(("text", "plain"), [
    ("<p><at>FakeBot</at>&nbsp;help</p>", "help"),
    ("<div>show<br>price-objection</div>", "show price-objection"),
    ("price &lt; 100 &amp; falling", "price < 100 & falling"),
    ("a <b>bold</b> claim", "a bold claim"),
    ("  spaced\n\tout  ", "spaced out"),
])
def test_typed_text(text: str, plain: str) -> None:
    assert teams_activity.typed_text(fixture("message.json", text=text)) == plain


def test_the_bot_added_is_an_added_message_and_others_are_not() -> None:
    message = teams_activity.to_event(fixture("conversation_update_bot_added.json"))
    assert message is not None and message.kind == "added" and message.channel == CHANNEL
    raw = fixture("conversation_update_bot_added.json", membersAdded=[{"id": "29:x"}])
    assert teams_activity.to_event(raw) is None
    removed = fixture("conversation_update_bot_added.json")
    removed["membersRemoved"] = removed.pop("membersAdded")
    assert teams_activity.bot_removed(removed) and not teams_activity.bot_added(removed)


def test_card_actions_become_action_messages() -> None:
    data = teams_cards.button_data(Button("Helpful", "helpful", "price-objection"))
    submit = teams_activity.to_event(fixture("message_card_submit.json", value=data))
    assert isinstance(submit, ButtonPressed) and submit.kind == "action"
    assert (submit.action, submit.value) == ("helpful", "price-objection")
    invoke = fixture("invoke_adaptive_card_action.json")
    invoke["value"]["action"] = {"type": "Action.Execute", "verb": "show", "data": data}
    execute = teams_activity.to_event(invoke)
    assert isinstance(execute, ButtonPressed) and execute.kind == "action"
    assert (execute.action, execute.value) == ("helpful", "price-objection")


def test_foreign_card_data_is_not_ours() -> None:
    assert teams_activity.to_event(fixture("message_card_submit.json")) is None
    assert teams_activity.to_event(fixture("invoke_adaptive_card_action.json")) is None
    raw = fixture("message_card_submit.json", value={"touchpoint": ["x"], "playbook": 1})
    assert teams_activity.to_event(raw) is None
    raw = fixture("message_card_submit.json", value={"touchpoint": "x" * 500})
    assert teams_activity.to_event(raw) is None


def test_other_activities_are_silent() -> None:
    assert teams_activity.to_event(fixture("message_reaction.json")) is None
    assert teams_activity.to_event(fixture("installation_update_add.json")) is None


def test_reference_points_at_the_channel_not_the_thread() -> None:
    reference = teams_activity.conversation_reference(fixture("message.json"))
    assert reference["conversation"]["id"] == CHANNEL
    assert reference["conversation"]["tenantId"] == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert reference["bot"]["name"] == "FakeBot"
    assert reference["serviceUrl"].startswith("https://smba.trafficmanager.net/")


@pytest.mark.parametrize(("raw", "problem"), [
    ([], "not a JSON object"),
    ({}, "no type"),
    ({"type": ""}, "no type"),
    ({"type": "message"}, "no serviceUrl"),
    ({"type": "message", "serviceUrl": "javascript:alert(1)"}, "not an http(s) URL"),
    ({"type": "message", "serviceUrl": "https://x/"}, "no conversation id"),
    ({"type": "message", "serviceUrl": "https://x/", "conversation": {"id": "c"}, "text": 5},
     "text is not a string"),
])
def test_activity_problems(raw: object, problem: str) -> None:
    found = teams_activity.activity_problem(raw)
    assert found is not None and problem in found


def test_every_fixture_is_a_valid_activity() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        assert teams_activity.activity_problem(json.loads(path.read_text())) is None, path.name


@pytest.mark.parametrize(("text", "bot_name", "expected"), [
    ("/touchpoint help", "", ("help", "/")),
    ("/TOUCHPOINT list", "", ("list", "/")),
    ("/touchpoint", "", ("help", "/")),
    ("@Touchpoint: show price", "", ("show price", "@")),
    ("@Test Bot help", "Test Bot", ("help", "@")),
    ("@test bot, the client is upset", "Test Bot", ("the client is upset", "@")),
    ("@Test Botany facts", "Test Bot", ("@Test Botany facts", "")),
    ("/touchpointless", "", ("/touchpointless", "")),
    ("@Alex says the client is upset", "Test Bot", ("@Alex says the client is upset", "")),
    ("help /touchpoint", "", ("help /touchpoint", "")),
])
def test_a_leading_command_or_bot_name_is_taken_off(text: str, bot_name: str,
                                                    expected: tuple[str, str]) -> None:
    assert teams_activity.command_text(text, bot_name) == expected
