"""Slack payloads to core events: what is answered, what is ignored, and the words it reads."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote_plus

import pytest
from slack_harness import fixture_json, fixture_text, message_event

from adapters.slack.payloads import (
    action_id,
    action_name,
    decode_text,
    from_action,
    from_command,
    from_event,
)

BOT = "U0FAKEBOT"


def test_the_captured_slash_command() -> None:
    form = dict(parse_qsl(fixture_text("slash_command.txt")))
    incoming = from_command(form)
    assert incoming is not None
    msg = incoming.message
    assert (msg.kind, msg.text, msg.user, msg.channel) == (
        "command", "main 2222", "U0FAKEUSER", "C0FAKECHAN")
    assert msg.id == form["trigger_id"]
    assert incoming.response_url.startswith("https://hooks.slack.com/commands/T0FAKE/")


def test_the_captured_channel_message() -> None:
    incoming = from_event(fixture_json("event_message.json"), BOT)
    assert incoming is not None
    msg = incoming.message
    assert (msg.kind, msg.text, msg.id, msg.thread) == (
        "channel", "hello bot", "Ev0FAKE0001", "1663966382.046509")
    assert not incoming.threaded and not incoming.direct


def test_the_captured_mention_without_the_bots_name() -> None:
    for bot in (BOT, ""):  # before auth.test answered, the leading mention is still dropped
        incoming = from_event(fixture_json("event_app_mention.json"), bot)
        assert incoming is not None
        assert (incoming.message.kind, incoming.message.text) == ("mention", "hey")


@pytest.mark.parametrize("name", [
    "event_message_bot.json",
    "event_message_bot_self.json",
    "event_message_edited.json",
    "event_message_changed_unfurl.json",
    "url_verification.json",
])
def test_captured_payloads_the_bot_ignores(name: str) -> None:
    assert from_event(fixture_json(name), BOT) is None


def test_own_messages_are_ignored_even_without_a_bot_id() -> None:
    assert from_event(message_event("too expensive", user=BOT), BOT) is None


def test_a_channel_message_mentioning_the_bot_is_left_to_app_mention() -> None:
    assert from_event(message_event(f"<@{BOT}> too expensive"), BOT) is None
    dm = from_event(message_event(f"<@{BOT}> list", channel="D0FAKEDM", channel_type="im"), BOT)
    assert dm is not None and dm.message.kind == "direct" and dm.message.text == "list"
    assert dm.direct


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
def test_people_posting_with_a_subtype_still_count(subtype: str) -> None:
    incoming = from_event(message_event("they say we are too pricey", subtype=subtype), BOT)
    assert incoming is not None and incoming.message.kind == "channel"


def test_thread_replies_stay_in_their_thread() -> None:
    incoming = from_event(message_event("hi", thread_ts="1663960000.000100"), BOT)
    assert incoming is not None
    assert incoming.threaded and incoming.message.thread == "1663960000.000100"


def test_the_bot_joining_a_channel_and_nobody_else() -> None:
    body = {"event_id": "Ev1", "event": {"type": "member_joined_channel", "user": BOT,
                                         "channel": "C1", "inviter": "U2"}}
    incoming = from_event(body, BOT)
    assert incoming is not None
    assert (incoming.message.kind, incoming.message.channel, incoming.message.id) == (
        "added", "C1", "Ev1")
    body["event"]["user"] = "U3"
    assert from_event(body, BOT) is None
    assert from_event(body, "") is None


def test_the_captured_click_is_on_another_apps_button() -> None:
    body = fixture_text("block_actions_body.txt")
    assert body.startswith("payload=")
    payload = json.loads(unquote_plus(body[len("payload="):]))
    assert payload == fixture_json("block_actions.json")
    assert from_action(payload) is None


def test_a_click_on_the_bots_button() -> None:
    payload = fixture_json("block_actions.json")
    payload["actions"][0].update(action_id=action_id("show", 3), value="price-objection")
    payload["container"]["thread_ts"] = "1694820000.000100"
    incoming = from_action(payload)
    assert incoming is not None
    msg = incoming.message
    assert (msg.kind, msg.action, msg.value, msg.user, msg.channel, msg.thread) == (
        "action", "show", "price-objection", "U0FAKEUSER", "C0FAKECHAN", "1694820000.000100")
    assert msg.id == payload["trigger_id"]
    assert incoming.response_url == payload["response_url"]


def test_action_ids_round_trip() -> None:
    assert action_name(action_id("not_helpful", 2)) == "not_helpful"
    assert action_name("approve_post") is None
    assert action_name("touchpoint:") is None


@pytest.mark.parametrize(("slack", "plain"), [
    ("we&amp;them &lt;3", "we&them <3"),
    ("&lt;!channel&gt;", "<!channel>"),
    ("<!here> look", "@here look"),
    ("<!channel>", "@channel"),
    ("<@U123|alice> said", "@alice said"),
    ("<@U123> said", "@someone said"),
    ("in <#C123|sales>", "in #sales"),
    ("<https://example.com|the deck>", "the deck"),
    ("<https://example.com>", "https://example.com"),
    ("<mailto:a@b.example|a@b.example>", "a@b.example"),
    ("<!subteam^S123|@sales> ping", "@sales ping"),
    ("<!date^1392734382^{date}|Feb 18, 2014> call", "Feb 18, 2014 call"),
    ("&amp;lt;", "&lt;"),
])
def test_decode_text_reads_slack_markup_as_a_person_sees_it(slack: str, plain: str) -> None:
    assert decode_text(slack) == plain


def test_decode_text_drops_only_the_bots_own_mention() -> None:
    assert decode_text(f"<@{BOT}> ask <@U9|bob>", BOT) == "ask @bob"
