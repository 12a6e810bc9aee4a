"""Slack end to end: signed HTTP requests in, Web API calls out (to the fake Slack API)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fakes.slack_api import Call, FakeSlackAPI
from raw_http import raw_request
from slack_harness import (
    FORM,
    TOKEN,
    Touchpoint,
    action_body,
    action_payload,
    command_body,
    fixture_json,
    fixture_text,
    mention_event,
    message_event,
    running,
    signed_headers,
    texts_that_match,
)

from adapters.slack.web import SERVER_RETRIES
from bot import feedback
from bot.playbook_set import PlaybookSet


@pytest.fixture
def guide(library: PlaybookSet) -> tuple[str, str]:
    return texts_that_match(library, "guide")[0]


@pytest.fixture
def nudge(library: PlaybookSet) -> tuple[str, str]:
    found = texts_that_match(library, "nudge")
    assert found, "no shipped playbook example nudges"
    return found[0]


def block_text(call: Call) -> str:
    """Everything a person would read in a posted message, blocks and fallback."""
    parts = [call.body.get("text", "")]
    for block in call.body.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element["text"]["text"])
    return "\n".join(parts)


def buttons(call: Call) -> list[tuple[str, str, str]]:
    """(label, action, value) of every button in a posted message."""
    found = []
    for block in call.body.get("blocks", []):
        if block["type"] == "actions":
            for b in block["elements"]:
                found.append((b["text"]["text"], b["action_id"].split(":")[1], b["value"]))
    return found


async def answered(tp: Touchpoint, method: str, count: int = 1) -> Call:
    calls = await tp.slack_api.wait_for(method, count)
    return calls[count - 1]


# --- the HTTP surface ------------------------------------------------------------


async def test_url_verification_echoes_the_challenge(slack_api: FakeSlackAPI,
                                                     library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        raw = fixture_text("url_verification.json").encode()
        answer = await tp.post(raw, signed_headers(raw, "application/json"))
    assert answer.status == 200
    challenge = fixture_json("url_verification.json")["challenge"]
    assert json.loads(answer.text) == {"challenge": challenge}
    assert slack_api.posts() == []


async def test_healthz_reports_slack_once_signed_in(slack_api: FakeSlackAPI,
                                                    library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        status, body = await tp.get("/healthz")
    assert status == 200
    assert body["slack"] == "ok" and body["status"] == "ok"


# --- slash commands --------------------------------------------------------------


async def test_slash_command_is_acknowledged_before_slack_is_called(
        slack_api: FakeSlackAPI, library: PlaybookSet, guide: tuple[str, str]) -> None:
    text, playbook_id = guide
    slack_api.hold("chat.postEphemeral")
    async with running(slack_api, library) as tp:
        answer = await tp.command(text)
        assert (answer.status, answer.text) == (200, "")
        assert slack_api.posts() == []  # the ack did not wait for the Web API
        slack_api.release("chat.postEphemeral")
        call = await answered(tp, "chat.postEphemeral")
    playbook = library.by_id[playbook_id]
    assert call.body["channel"] == "C0FAKECHAN" and call.body["user"] == "U0FAKEUSER"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    shown = block_text(call)
    assert playbook.title in shown
    assert all(step.replace("&", "&amp;") in shown for step in playbook.guidance)
    assert "Why this playbook" in shown
    assert "Matched because" in shown and "Score" not in shown
    summary = playbook.summary.replace("&", "&amp;")
    assert sum(block.get("text", {}).get("text", "").count(summary)
               for block in call.body["blocks"]) == 1
    assert buttons(call) == [
        ("Share in channel", "share", playbook_id),
        ("Helpful", "helpful", playbook_id),
        ("Not helpful", "not_helpful", feedback.button_value(playbook_id, text)),
        ("Show the whole playbook", "show", playbook_id),
    ]
    assert "thread_ts" not in call.body


async def test_the_captured_slash_command_is_answered(slack_api: FakeSlackAPI,
                                                      library: PlaybookSet) -> None:
    raw = fixture_text("slash_command.txt").encode()
    async with running(slack_api, library) as tp:
        answer = await tp.post(raw, signed_headers(raw, FORM))
        call = await answered(tp, "chat.postEphemeral")
    assert answer.status == 200
    assert (call.body["channel"], call.body["user"]) == ("C0FAKECHAN", "U0FAKEUSER")
    assert "main 2222" in block_text(call)  # the `+` of the form decoded to a space


async def test_help_list_and_show(slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    some = library.playbooks[0]
    async with running(slack_api, library) as tp:
        for n, text in enumerate(("help", "list", f"show {some.id}", "show no-such-playbook", "")):
            await tp.command(text)
            calls = await slack_api.wait_for("chat.postEphemeral", n + 1)
    help_, listing, shown, unknown, empty = (block_text(c) for c in calls)
    assert "/touchpoint list" in help_ and "/touchpoint mute" in help_
    assert all(p.id in listing for p in library.playbooks)
    assert some.title in shown and "Daily prompts" in shown
    assert 'There is no playbook "no-such-playbook"' in unknown
    assert empty == help_
    assert all(c.body["user"] == "U0FAKEUSER" for c in calls)


async def test_no_match_suggests_list(slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        await tp.command("zzyzx qwop florp")
        call = await answered(tp, "chat.postEphemeral")
    assert "No playbook clearly fits" in block_text(call)
    assert "/touchpoint list" in block_text(call)


async def test_mute_stops_nudges_until_unmute(slack_api: FakeSlackAPI, library: PlaybookSet,
                                              nudge: tuple[str, str]) -> None:
    text, _ = nudge
    async with running(slack_api, library) as tp:
        await tp.command("mute")
        muted = await answered(tp, "chat.postEphemeral")
        await tp.event(message_event(text, channel="C0FAKECHAN"))
        await tp.settle()
        assert slack_api.calls("chat.postMessage") == []
        await tp.command("unmute")
        await answered(tp, "chat.postEphemeral", 2)
        await tp.event(message_event(text, channel="C0FAKECHAN"))
        nudged = await answered(tp, "chat.postMessage")
    assert "Muted" in block_text(muted)
    assert nudged.body["channel"] == "C0FAKECHAN"


# --- events ----------------------------------------------------------------------


async def test_channel_message_gets_a_threaded_nudge_once_per_cooldown(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str]) -> None:
    text, playbook_id = nudge
    async with running(slack_api, library) as tp:
        first = message_event(text)
        answer = await tp.event(first)
        call = await answered(tp, "chat.postMessage")
        await tp.event(message_event(text))
        await tp.settle()
        assert len(slack_api.calls("chat.postMessage")) == 1
        await tp.event(message_event(text, channel="C0FAKECHAN2"))
        other = await answered(tp, "chat.postMessage", 2)
    assert answer.status == 200
    assert call.body["channel"] == "C0FAKECHAN"
    assert call.body["thread_ts"] == first["event"]["ts"]
    assert library.by_id[playbook_id].nudge.replace("&", "&amp;") in block_text(call)
    assert buttons(call) == [("Show the whole playbook", "show", playbook_id)]
    assert other.body["channel"] == "C0FAKECHAN2"


async def test_chatter_gets_no_nudge(slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        replay = fixture_json("event_message.json")  # "hello bot"
        assert (await tp.event(replay)).status == 200
        await tp.settle()
    assert slack_api.posts() == []


async def test_a_reply_in_a_thread_is_nudged_in_that_thread(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str]) -> None:
    async with running(slack_api, library) as tp:
        await tp.event(message_event(nudge[0], thread_ts="1663960000.000100"))
        call = await answered(tp, "chat.postMessage")
    assert call.body["thread_ts"] == "1663960000.000100"


async def test_the_captured_mention_is_answered_in_its_thread(slack_api: FakeSlackAPI,
                                                              library: PlaybookSet) -> None:
    replay = fixture_json("event_app_mention.json")  # "<@U0FAKEBOT> hey"
    async with running(slack_api, library) as tp:
        assert (await tp.event(replay)).status == 200
        call = await answered(tp, "chat.postMessage")
    assert call.body["channel"] == "C0FAKECHAN"
    assert call.body["thread_ts"] == replay["event"]["ts"]
    assert "U0FAKEBOT" not in block_text(call)


async def test_mention_gets_guidance_in_thread_and_no_extra_nudge(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str]) -> None:
    text, playbook_id = nudge
    mention = mention_event(text)
    # Slack delivers the same words as a channel message too; only the mention answers.
    echo = message_event(f"<@U0FAKEBOT> {text}", ts=mention["event"]["ts"])
    async with running(slack_api, library) as tp:
        await tp.event(echo)
        await tp.event(mention)
        call = await answered(tp, "chat.postMessage")
        await tp.settle()
    assert len(slack_api.posts()) == 1
    assert call.body["thread_ts"] == mention["event"]["ts"]
    assert library.by_id[playbook_id].title in block_text(call)
    assert [b[1] for b in buttons(call)] == ["helpful", "not_helpful", "show"]


async def test_mention_help_is_only_shown_to_the_asker(slack_api: FakeSlackAPI,
                                                       library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        await tp.event(mention_event("help", thread_ts="1663960000.000100"))
        call = await answered(tp, "chat.postEphemeral")
    assert call.body["user"] == "U0FAKEUSER"
    assert call.body["thread_ts"] == "1663960000.000100"


async def test_direct_message_is_answered_in_thread(slack_api: FakeSlackAPI,
                                                    library: PlaybookSet,
                                                    guide: tuple[str, str]) -> None:
    text, playbook_id = guide
    dm = message_event(text, channel="D0FAKEDM", channel_type="im")
    async with running(slack_api, library) as tp:
        await tp.event(dm)
        call = await answered(tp, "chat.postMessage")
        await tp.event(message_event("list", channel="D0FAKEDM", channel_type="im"))
        listing = await answered(tp, "chat.postMessage", 2)
    assert call.body["channel"] == "D0FAKEDM"
    assert call.body["thread_ts"] == dm["event"]["ts"]
    assert library.by_id[playbook_id].title in block_text(call)
    assert listing.body["channel"] == "D0FAKEDM"  # no ephemeral in a DM: it would vanish
    assert slack_api.calls("chat.postEphemeral") == []


def _nudging(body: dict[str, Any], text: str) -> dict[str, Any]:
    body["event"]["text"] = text
    if "message" in body["event"]:
        body["event"]["message"]["text"] = text
    return body


@pytest.mark.parametrize("name", [
    "event_message_bot.json",
    "event_message_bot_self.json",
    "event_message_edited.json",
    "event_message_changed_unfurl.json",
])
async def test_bots_own_echo_and_edits_are_ignored(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str], name: str) -> None:
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        as_captured = await tp.event(fixture_json(name))
        with_a_customer_moment = await tp.event(_nudging(fixture_json(name), nudge[0]))
        await tp.settle()
    assert as_captured.status == with_a_customer_moment.status == 200
    assert slack_api.posts() == []


@pytest.mark.parametrize("subtype", ["message_deleted", "channel_join", "channel_topic",
                                     "bot_message", "me_message"])
async def test_other_subtypes_are_ignored(slack_api: FakeSlackAPI, library: PlaybookSet,
                                          nudge: tuple[str, str], subtype: str) -> None:
    async with running(slack_api, library) as tp:
        assert (await tp.event(message_event(nudge[0], subtype=subtype))).status == 200
        await tp.settle()
    assert slack_api.posts() == []


async def test_events_nobody_subscribed_to_are_acknowledged(slack_api: FakeSlackAPI,
                                                            library: PlaybookSet) -> None:
    body = fixture_json("event_message.json")
    body["event"] = {"type": "reaction_added", "user": "U0FAKEUSER", "reaction": "tada",
                     "item": {"type": "message", "channel": "C0FAKECHAN", "ts": "1.2"},
                     "event_ts": "1663966390.000200"}
    async with running(slack_api, library) as tp:
        assert (await tp.event(body)).status == 200
        await tp.settle()
    assert slack_api.posts() == []


async def test_slacks_rate_limit_notice_is_logged_and_acknowledged(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture) -> None:
    notice = {"token": "fake-verification-token", "type": "app_rate_limited",
              "team_id": "T0FAKE", "minute_rate_limited": 1518467820, "api_app_id": "A0FAKEAPP"}
    async with running(slack_api, library) as tp:
        answer = await tp.event(notice)
    assert answer.status == 200
    assert "Slack is dropping this app's events from workspace T0FAKE" in caplog.text


async def test_joining_a_channel_greets_it_once(slack_api: FakeSlackAPI,
                                                library: PlaybookSet) -> None:
    body = fixture_json("event_message.json")
    body["event"] = {"type": "member_joined_channel", "user": "U0FAKEBOT",
                     "channel": "C0FAKECHAN", "channel_type": "C", "team": "T0FAKE",
                     "inviter": "U0FAKEUSER", "event_ts": "1663966390.000200"}
    someone_else = json.loads(json.dumps(body))
    someone_else["event"]["user"] = "U0SOMEONE"
    someone_else["event_id"] = "Ev0OTHER"
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        await tp.event(body)
        await tp.event(body, retry=1)
        await tp.event(someone_else)
        call = await answered(tp, "chat.postMessage")
        await tp.settle()
    assert len(slack_api.posts()) == 1
    assert call.body["channel"] == "C0FAKECHAN" and "thread_ts" not in call.body
    assert "Touchpoint" in block_text(call)


# --- retries and signatures ------------------------------------------------------


async def test_slack_retries_never_answer_twice(slack_api: FakeSlackAPI, library: PlaybookSet,
                                                guide: tuple[str, str]) -> None:
    mention = mention_event(guide[0])
    async with running(slack_api, library) as tp:
        first = await tp.event(mention)
        retries = [await tp.event(mention, retry=n) for n in (1, 2, 3)]
        await tp.settle()
        twins = mention_event(guide[0])
        together = await asyncio.gather(*(tp.event(twins) for _ in range(5)))
        await tp.settle()
    assert {a.status for a in [first, *retries, *together]} == {200}
    assert len(slack_api.calls("chat.postMessage")) == 2


def _stale(body: bytes) -> dict[str, str]:
    return signed_headers(body, FORM, timestamp=time.time() - 6 * 60)


def _future(body: bytes) -> dict[str, str]:
    return signed_headers(body, FORM, timestamp=time.time() + 6 * 60)


def _wrong_secret(body: bytes) -> dict[str, str]:
    return signed_headers(body, FORM, secret="0" * 32)


def _tampered(body: bytes) -> dict[str, str]:
    return signed_headers(body + b"&text=unmute", FORM)


def _unsigned(body: bytes) -> dict[str, str]:
    return {"Content-Type": FORM}


@pytest.mark.parametrize("forge", [_stale, _future, _wrong_secret, _tampered, _unsigned])
async def test_a_forged_or_stale_request_gets_401_and_changes_nothing(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str],
        forge: Any) -> None:
    mute = command_body("mute")
    event = message_event(nudge[0])
    raw_event = json.dumps(event).encode()
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        rejected = [await tp.post(mute, forge(mute)),
                    await tp.post(raw_event, {**forge(raw_event),
                                              "Content-Type": "application/json"})]
        await tp.settle()
        assert [a.status for a in rejected] == [401, 401]
        assert [c.method for c in slack_api.calls()] == ["auth.test"]
        # Neither the mute nor the event id was taken: the same event, signed, is answered.
        await tp.event(event)
        await answered(tp, "chat.postMessage")


MALFORMED = [
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json", 400),
    (action_body({**action_payload("helpful", "x"), "actions": "touchpoint:helpful:0"}), FORM,
     400),
    (action_body({**action_payload("helpful", "x"), "actions": ["touchpoint:helpful:0"]}), FORM,
     400),
    (action_body({**action_payload("helpful", "x"), "authorizations": "x"}), FORM, 400),
    (action_body({**action_payload("helpful", "x"), "type": ["block_actions"]}), FORM, 400),
    (json.dumps({**message_event("x"), "authorizations": [1]}).encode(), "application/json", 400),
    (b"payload=" + b"%5B" * 100_000, FORM, 400),
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"a string"', "application/json", 400),
    (b"payload=%7Bbroken", FORM, 400),
    (b"\xff\xfe", "application/json", 401),  # Slack signs UTF-8; these bytes cannot be its
]


@pytest.mark.parametrize(("body", "content_type", "when_signed"), MALFORMED)
async def test_malformed_bodies_are_401_unsigned_and_400_signed_never_a_crash(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture,
        body: bytes, content_type: str, when_signed: int) -> None:
    async with running(slack_api, library) as tp:
        unsigned = await tp.post(body, {"Content-Type": content_type,
                                        "X-Slack-Request-Timestamp": "not-a-number",
                                        "X-Slack-Signature": "v0=00"})
        signed = await tp.post(body, signed_headers(body, content_type))
        await tp.settle()
    assert (unsigned.status, signed.status) == (401, when_signed)
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert slack_api.posts() == []


@pytest.mark.parametrize("signature", ["v0=²²²".encode(), b"v0=\xff\xfe", "é".encode() * 64,
                                       b"v0=" + b"9" * 5000])
@pytest.mark.parametrize("timestamp", [None, "²".encode(), b"9" * 5000, b"\xff"])
async def test_strange_signature_headers_are_401_never_a_crash(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture,
        signature: bytes, timestamp: bytes | None) -> None:
    body = command_body("mute")
    async with running(slack_api, library) as tp:
        good = signed_headers(body, FORM)
        stamp = good["X-Slack-Request-Timestamp"].encode() if timestamp is None else timestamp
        status, _ = await raw_request(tp.url, "POST", "/slack/events", [
            ("Content-Type", FORM.encode()), ("X-Slack-Request-Timestamp", stamp),
            ("X-Slack-Signature", signature)], body)
        await tp.settle()
    assert status == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert slack_api.posts() == []


def _command_with(field: str, value: str) -> bytes:
    fields = dict(parse_qsl(command_body("help").decode(), keep_blank_values=True))
    fields[field] = value
    return urlencode(fields).encode()


@pytest.mark.parametrize("field", ["text", "channel_name", "team_domain", "user_name"])
async def test_a_command_with_the_word_payload_in_any_field_is_answered(
        slack_api: FakeSlackAPI, library: PlaybookSet, field: str) -> None:
    """bolt took any form holding the word for an interactivity payload and dropped it."""
    value = "help payload" if field == "text" else "payload"
    body = _command_with(field, value)
    async with running(slack_api, library) as tp:
        answer = await tp.post(body, signed_headers(body, FORM))
        call = await answered(tp, "chat.postEphemeral")
    assert answer.status == 200
    assert call.body["channel"] == "C0FAKECHAN" and call.body["user"] == "U0FAKEUSER"


async def test_a_command_whose_text_looks_like_a_payload_field_is_answered(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    body = _command_with("text", 'payload={"type":"block_actions"}')
    async with running(slack_api, library) as tp:
        answer = await tp.post(body, signed_headers(body, FORM))
        await answered(tp, "chat.postEphemeral")
    assert answer.status == 200


# --- escaping --------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "&lt;!channel&gt; zzyzx",
    "&lt;!here&gt; please read",
    "&lt;https://evil.example/login|your invoice&gt; zzyzx",
    "<!channel> <!here> <!everyone> zzyzx",
    "<https://evil.example/login|your invoice> zzyzx",
    "<@U0BOSS|ceo> says zzyzx",
    "*bold* &amp; &lt;b&gt; zzyzx",
])
async def test_echoed_text_cannot_ping_or_fake_a_link(slack_api: FakeSlackAPI,
                                                      library: PlaybookSet, typed: str) -> None:
    async with running(slack_api, library) as tp:
        await tp.command(typed)
        await slack_api.wait_for("chat.postEphemeral")
        await tp.command(f"show {typed}")
        calls = await slack_api.wait_for("chat.postEphemeral", 2)
    unknown_playbook = block_text(calls[1])
    assert "zzyzx" in unknown_playbook or "please read" in unknown_playbook  # echoed words...
    for call in calls:
        shown = block_text(call)
        for forbidden in ("<!", "<http", "<@", "<b>"):  # ...but never as markup
            assert forbidden not in shown
        assert all(b["text"].get("verbatim") is True
                   for b in call.body["blocks"] if b["type"] == "section")


# --- buttons ---------------------------------------------------------------------


async def test_helpful_thanks_and_not_helpful_asks_in_a_modal(slack_api: FakeSlackAPI,
                                                              library: PlaybookSet) -> None:
    playbook_id = library.playbooks[0].id
    async with running(slack_api, library) as tp:
        ok = await tp.action(action_payload("helpful", playbook_id, index=1, ephemeral=True))
        await slack_api.wait_for("chat.postEphemeral")
        await tp.action(action_payload("not_helpful", playbook_id, index=2, ephemeral=True))
        await slack_api.wait_for("views.open")
        await tp.settle()
    calls = slack_api.calls("chat.postEphemeral")
    assert (ok.status, ok.text) == (200, "")
    assert len(calls) == 1 and "Glad it helped" in block_text(calls[0])
    assert calls[0].body["user"] == "U0FAKEUSER"
    assert await tp.handler.store.counters() == {f"helpful:{playbook_id}": 1,
                                                 f"not_helpful:{playbook_id}": 1}


async def test_show_on_a_nudge_opens_the_playbook_in_that_thread(slack_api: FakeSlackAPI,
                                                                 library: PlaybookSet) -> None:
    playbook = library.playbooks[0]
    async with running(slack_api, library) as tp:
        await tp.action(action_payload("show", playbook.id, thread_ts="1663960000.000100"))
        call = await answered(tp, "chat.postEphemeral")
    assert call.body["thread_ts"] == "1663960000.000100"
    assert call.body["user"] == "U0FAKEUSER"
    assert playbook.title in block_text(call) and "Daily prompts" in block_text(call)


async def test_share_posts_the_guidance_for_everyone(slack_api: FakeSlackAPI,
                                                     library: PlaybookSet) -> None:
    playbook = library.playbooks[0]
    async with running(slack_api, library) as tp:
        await tp.action(action_payload("share", playbook.id, ephemeral=True))
        call = await answered(tp, "chat.postMessage")
    assert call.body["channel"] == "C0FAKECHAN"
    assert "user" not in call.body
    assert playbook.title in block_text(call)
    assert "share" not in [b[1] for b in buttons(call)]


async def test_the_captured_click_on_another_apps_button_is_acknowledged_and_ignored(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    raw = fixture_text("block_actions_body.txt").encode()
    async with running(slack_api, library) as tp:
        answer = await tp.post(raw, signed_headers(raw, FORM))
        await tp.settle()
    assert answer.status == 200
    assert slack_api.posts() == []


async def test_a_click_is_answered_once_even_if_delivered_twice(slack_api: FakeSlackAPI,
                                                                library: PlaybookSet) -> None:
    payload = action_payload("helpful", library.playbooks[0].id)
    body = action_body(payload)
    async with running(slack_api, library) as tp:
        await tp.post(body, signed_headers(body, FORM))
        await tp.post(body, signed_headers(body, FORM))
        await tp.settle()
    assert len(slack_api.posts()) == 1


# --- the Web API misbehaving -----------------------------------------------------


async def test_rate_limited_post_is_retried_after_retry_after(
        slack_api: FakeSlackAPI, library: PlaybookSet, guide: tuple[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.ratelimit("chat.postEphemeral", retry_after="1")
    async with running(slack_api, library) as tp:
        await tp.command(guide[0])
        calls = await slack_api.wait_for("chat.postEphemeral", 2)
        await tp.settle()
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].body == calls[1].body
    assert "rate limited on chat.postEphemeral; retrying in 1 s" in caplog.text


async def test_a_retry_after_beyond_reason_is_not_waited_for(
        slack_api: FakeSlackAPI, library: PlaybookSet, guide: tuple[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.ratelimit("chat.postEphemeral", retry_after="3600")
    async with running(slack_api, library) as tp:
        await tp.command(guide[0])
        await slack_api.wait_for("chat.postEphemeral")
        await tp.settle()
    assert len(slack_api.calls("chat.postEphemeral")) == 1
    assert "still rate limited" in caplog.text


async def test_a_reply_survives_a_short_run_of_server_errors(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str]) -> None:
    slack_api.server_error("chat.postMessage", times=SERVER_RETRIES)
    async with running(slack_api, library) as tp:
        await tp.event(message_event(nudge[0]))
        await slack_api.wait_for("chat.postMessage", 1 + SERVER_RETRIES)
        await tp.settle()
    assert [c.ok for c in slack_api.calls("chat.postMessage")] == [False] * SERVER_RETRIES + [True]


@pytest.mark.parametrize(("trouble", "logged"), [
    ("not_in_channel", "the bot is not a member of C0FAKECHAN; invite it with /invite"),
    ("channel_not_found", "channel C0FAKECHAN does not exist or the bot cannot see it"),
    ("invalid_auth", "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
    ("is_archived", "chat.postMessage to C0FAKECHAN failed: is_archived"),
    ("http_500", "chat.postMessage to C0FAKECHAN failed: HTTP 500"),
])
async def test_web_api_errors_are_logged_and_the_server_keeps_serving(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str],
        caplog: pytest.LogCaptureFixture, trouble: str, logged: str) -> None:
    if trouble == "http_500":
        slack_api.server_error("chat.postMessage", times=1 + SERVER_RETRIES)  # every try fails
    else:
        slack_api.fail("chat.postMessage", trouble)
    async with running(slack_api, library) as tp:
        await tp.event(message_event(nudge[0]))
        await slack_api.wait_for("chat.postMessage",
                                 1 + SERVER_RETRIES if trouble == "http_500" else 1)
        await tp.settle()
        assert logged in caplog.text
        assert "Traceback" not in caplog.text
        if trouble == "invalid_auth":
            assert (await tp.get("/healthz"))[1]["slack"].startswith("invalid_auth")
        # Still serving: the next request is acknowledged and answered.
        answer = await tp.event(message_event(nudge[0], channel="C0FAKECHAN2"))
        await tp.settle()
        status, health = await tp.get("/healthz")
    after = [c for c in slack_api.calls("chat.postMessage") if c.body["channel"] == "C0FAKECHAN2"]
    assert answer.status == 200 and [c.ok for c in after] == [True]
    assert health["slack"] == "ok"  # a post that works again clears a token problem


async def test_ephemeral_where_the_bot_is_not_falls_back_to_response_url(
        slack_api: FakeSlackAPI, library: PlaybookSet, guide: tuple[str, str]) -> None:
    slack_api.fail("chat.postEphemeral", "channel_not_found")
    async with running(slack_api, library) as tp:
        await tp.command(guide[0], channel="D0SOMEONEELSE",
                         response_url=slack_api.response_url("cmd"))
        call = await answered(tp, "response_url")
    assert call.body["response_type"] == "ephemeral"
    assert call.body["replace_original"] is False
    assert library.by_id[guide[1]].title in block_text(call)


async def test_share_where_the_bot_is_not_a_member_goes_through_response_url(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    slack_api.fail("chat.postMessage", "not_in_channel")
    payload = action_payload("share", library.playbooks[0].id, ephemeral=True,
                             response_url=slack_api.response_url("share"))
    async with running(slack_api, library) as tp:
        await tp.action(payload)
        call = await answered(tp, "response_url")
    assert call.body["response_type"] == "in_channel"


async def test_unreachable_web_api_is_logged_and_requests_are_still_acknowledged(
        slack_api: FakeSlackAPI, library: PlaybookSet, guide: tuple[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    caplog.set_level(logging.INFO, logger="touchpoint.slack")
    async with running(slack_api, library, slack_api_url=dead) as tp:
        answer = await tp.command(guide[0])
        await tp.settle()
        _, health = await tp.get("/healthz")
    assert answer.status == 200
    assert f"cannot reach the Web API at {dead}" in caplog.text
    assert health["slack"] == "Slack Web API unreachable"


async def test_under_a_flood_nudges_give_way_and_commands_still_answer(
        slack_api: FakeSlackAPI, library: PlaybookSet, nudge: tuple[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    slack_api.hold("chat.postMessage")  # Slack stops answering; answers pile up
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        await tp.settle()
        tp.adapter.max_pending = 2
        for channel in ("C0FAKE1", "C0FAKE2", "C0FAKE3"):
            assert (await tp.event(message_event(nudge[0], channel=channel))).status == 200
        await tp.command("help")
        await slack_api.wait_for("chat.postEphemeral")
        slack_api.release("chat.postMessage")
        await tp.settle()
    assert sorted(c.body["channel"] for c in slack_api.calls("chat.postMessage")) == [
        "C0FAKE1", "C0FAKE2"]
    assert "not nudging until they are done (1 channel messages skipped so far)" in caplog.text
