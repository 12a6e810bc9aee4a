"""The message shortcut and the App Home tab, replayed in Slack's wire format against the
server and the fake Slack Web API."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

from fakes.slack_api import Call, FakeSlackAPI
from slack_harness import FORM, Touchpoint, action_body, fixture_json, running, signed_headers

from adapters.slack.home import SHORTCUT_ID, from_shortcut, home_opened_user, home_view
from bot.admin import Admins
from bot.home import Home
from bot.playbook_set import PlaybookSet


def shortcut_payload(text: str = "", **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(fixture_json("message_action.json"))
    if text:
        payload["message"]["text"] = text
    payload.update(changes)
    return payload


async def press(tp: Touchpoint, payload: dict[str, Any]) -> int:
    body = action_body(payload)
    return (await tp.post(body, signed_headers(body, FORM))).status


def texts(blocks: list[dict[str, Any]]) -> str:
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
    return "\n".join(found)


def home_buttons(call: Call) -> list[tuple[str, str, str]]:
    view = json.loads(call.body["view"]) if isinstance(call.body["view"], str) \
        else call.body["view"]
    return [(b["accessory"]["text"]["text"], b["accessory"]["action_id"].split(":")[1],
             b["accessory"]["value"]) for b in view["blocks"] if "accessory" in b]


def view_of(call: Call) -> dict[str, Any]:
    view = call.body["view"]
    return json.loads(view) if isinstance(view, str) else view


# --- the message shortcut --------------------------------------------------------


def test_the_captured_shortcut_becomes_a_private_question_about_that_message() -> None:
    incoming = from_shortcut(fixture_json("message_action.json"), "U0FAKEBOT")
    assert incoming is not None
    msg = incoming.message
    assert (msg.kind, msg.user, msg.channel) == ("shortcut", "U0FAKEUSER", "C0FAKECHAN")
    assert msg.text.startswith("the client says our quote is too high and @")
    assert incoming.response_url.startswith("https://hooks.slack.com/")


def test_other_apps_shortcuts_and_other_payloads_are_not_ours() -> None:
    assert from_shortcut(shortcut_payload(callback_id="someone_else")) is None
    assert from_shortcut({"type": "shortcut", "callback_id": SHORTCUT_ID}) is None
    assert from_shortcut(shortcut_payload(user="U1")) is None


async def test_the_shortcut_answers_privately_with_the_same_buttons_as_the_command(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    text, playbook_id = next((e, p.id) for p in library.playbooks for e in p.examples.match
                             if (r := library.matcher.match(e, "guide")).best is not None
                             and r.best.playbook == p.id)
    async with running(slack_api, library) as tp:
        assert await press(tp, shortcut_payload(text)) == 200
        shortcut = (await slack_api.wait_for("chat.postEphemeral"))[0]
        await tp.command(text)
        command = (await slack_api.wait_for("chat.postEphemeral", 2))[1]
        await tp.settle()
    assert shortcut.ok and shortcut.body["user"] == "U0FAKEUSER"
    assert shortcut.body["channel"] == "C0FAKECHAN"
    assert slack_api.calls("chat.postMessage") == []
    assert library.by_id[playbook_id].title in shortcut.body["text"]
    actions = [b for b in shortcut.body["blocks"] if b["type"] == "actions"]
    assert actions == [b for b in command.body["blocks"] if b["type"] == "actions"]


async def test_where_the_bot_is_not_a_member_the_answer_goes_through_response_url(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    slack_api.fail("chat.postEphemeral", "channel_not_found")
    payload = shortcut_payload(library.playbooks[0].examples.match[0],
                               response_url=slack_api.response_url("shortcut"))
    async with running(slack_api, library) as tp:
        await press(tp, payload)
        await slack_api.wait_for("response_url")
        await tp.settle()
    answer = slack_api.calls("response_url")[0]
    assert answer.body["response_type"] == "ephemeral"


# --- App Home ----------------------------------------------------------------------


def test_only_the_home_tab_is_published() -> None:
    body = fixture_json("event_app_home_opened.json")
    assert home_opened_user(body) == "U0FAKEUSER"
    body["event"]["tab"] = "messages"
    assert home_opened_user(body) == ""


async def test_opening_app_home_publishes_playbooks_mute_switch_and_channels(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    slack_api.add_member("U0FAKEUSER", "C0FAKECHAN")
    async with running(slack_api, library) as tp:
        await tp.handler.store.subscribe("slack", "C0FAKECHAN", json.dumps(
            {"time": "09:00:00", "zone": "Europe/Berlin", "weekdays": [0, 1, 2, 3, 4],
             "playbooks": []}))
        await tp.handler.store.subscribe("slack", "C0HIDDEN", json.dumps(
            {"time": "10:00:00", "zone": "UTC", "weekdays": [0], "playbooks": []}))
        await tp.handler.store.set_nudges("slack", "C0FAKECHAN", "slack:U0OTHER")
        assert (await tp.event(fixture_json("event_app_home_opened.json"))).status == 200
        call = (await slack_api.wait_for("views.publish"))[0]
        await tp.settle()
    assert call.ok and call.body["user_id"] == "U0FAKEUSER"
    view = view_of(call)
    assert view["type"] == "home"
    shown = texts(view["blocks"])
    for playbook in library.playbooks[:3]:
        assert playbook.title in shown and playbook.summary.split()[0] in shown
    assert "C0FAKECHAN: 09:00 Europe/Berlin" in shown
    assert "C0HIDDEN" not in shown
    assert "Nudges switched off*\n\u2022 C0FAKECHAN" in shown
    assert "This week (admins)" not in shown
    pressed = home_buttons(call)
    assert pressed[0] == ("Mute my nudges", "mute", "")
    assert ("Open", "show", library.playbooks[0].id) in pressed
    assert slack_api.calls("users.conversations")[0].body["user"] == "U0FAKEUSER"


async def test_admins_see_the_weeks_counts_and_every_channel(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        tp.handler.settings = replace(tp.handler.settings, admins=Admins.parse("U0FAKEUSER"))
        await tp.handler.store.set_nudges("slack", "C0HIDDEN", "slack:U0OTHER")
        await tp.event(fixture_json("event_app_home_opened.json"))
        call = (await slack_api.wait_for("views.publish"))[0]
        await tp.settle()
    shown = texts(view_of(call)["blocks"])
    assert "This week (admins)" in shown and "C0HIDDEN" in shown


async def test_the_mute_switch_on_the_home_tab_mutes_and_publishes_again(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    payload = copy.deepcopy(fixture_json("block_actions.json"))
    payload["actions"][0].update(action_id="touchpoint:mute:0", value="")
    payload.pop("channel", None)
    payload.pop("message", None)
    payload["container"] = {"type": "view", "view_id": "V0FAKEVIEW"}
    payload["view"] = {"id": "V0FAKEVIEW", "type": "home", "blocks": []}
    async with running(slack_api, library) as tp:
        assert await press(tp, payload) == 200
        call = (await slack_api.wait_for("views.publish"))[0]
        await tp.settle()
        assert await tp.handler.store.is_muted("slack:U0FAKEUSER")
    assert home_buttons(call)[0] == ("Unmute my nudges", "unmute", "")
    said = slack_api.calls("chat.postMessage")[0]
    assert said.body["channel"] == "U0FAKEUSER" and "Muted" in said.body["text"]


async def test_a_refused_publish_is_logged_and_nothing_else_breaks(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: Any) -> None:
    slack_api.fail("views.publish", "not_enabled")
    async with running(slack_api, library) as tp:
        await tp.event(fixture_json("event_app_home_opened.json"))
        await slack_api.wait_for("views.publish")
        await tp.settle()
    assert "home_tab_enabled" in caplog.text


def test_the_home_view_escapes_what_playbook_owners_wrote(library: PlaybookSet) -> None:
    playbook = library.playbooks[0].model_copy(update={"title": "<!channel> & co"})
    view = home_view(Home((playbook,), False, (), (), ()))
    shown = texts(view["blocks"])
    assert "&lt;!channel&gt; &amp; co" in shown and "<!channel>" not in shown
    assert len(view["blocks"]) <= 100
