"""Hostile input against the real server: each request gets its expected answer, the process
keeps serving, and nothing the request should not change has changed.

What other files already cover is not repeated here: forged, stale and tampered Slack
signatures and malformed Slack bodies (tests/adapters/test_slack.py), malformed, wrongly
typed and oversized Teams activities (tests/adapters/test_teams.py), bad webhook signatures
and bodies (tests/touchpoint/test_webhooks.py), YAML bombs, deep nesting and huge playbook
files (tests/bot/test_playbooks.py). This file adds replays, multi-megabyte bodies, wrong
content types, unknown envelopes, Unicode and control characters, markup in echoed text
and a catastrophic regular expression in a trigger, each checked against the store.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.bot_framework_keys import FakeBotFrameworkKeys
from fakes.slack_api import Call, FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector

sys.path.insert(0, str(Path(__file__).resolve().parent / "adapters"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "touchpoint"))

from slack_harness import (  # noqa: E402
    FORM,
    Touchpoint,
    command_body,
    mention_event,
    message_event,
    running,
    signed_headers,
)
from test_teams import APP_ID, Running, authenticated, start  # noqa: E402
from test_webhooks import HAPPY, Hook, call, serving  # noqa: E402

from adapters.bodies import MAX_BODY  # noqa: E402
from bot.library import PlaybookSet  # noqa: E402
from bot.memory_store import MemoryStore  # noqa: E402
from touchpoint import webhooks  # noqa: E402
from touchpoint.settings import Settings  # noqa: E402

MEGABYTES = 5 * 1024 * 1024

# Text no playbook is about, in every shape Unicode and terminals allow.
STRANGE_TEXTS = [
    "\x00\x01\x07\x08\x1b[31mred\x1b[0m\x7f",  # NUL, bell, backspace, ANSI escapes, DEL
    "\u202egnp.exe\u202c \u2066isolate\u2069",  # right-to-left override and isolates
    "e\u0301" * 2000,  # combining accents
    "\U0001F469\u200d\U0001F4BB\u200d\U0001F525 \ufe0f\ufeff",  # ZWJ sequence, BOM
    "\u200b\u200c\u200d\u2060" * 500,  # zero-width only
    "\uffff\ufffe\U0010ffff \ufdd0",  # non-characters
    "\u0130\u0131\u00df\ufb03 \u1e9e",  # case folding that changes length
    "\r\n\t\v\f\u2028\u2029\x85",  # every kind of line break
    "\U0001d54b\U0001d560\U0001d566\U0001d554\U0001d559",  # mathematical letters
    "x" * 40_000,
]


def store_state(store: MemoryStore) -> dict[str, Any]:
    """Everything the memory store holds, to compare before and after."""
    return {name: dict(value) if isinstance(value, dict) else value
            for name, value in vars(store).items() if not callable(value)}


async def counters(tp: Touchpoint) -> dict[str, int]:
    return await tp.handler.store.counters()


def block_text(call: Call) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in call.body.get("blocks", []))


# --- Slack ------------------------------------------------------------------------------------


async def test_a_replayed_signed_command_is_answered_once(slack_api: FakeSlackAPI,
                                                          library: PlaybookSet) -> None:
    """Slack's signature is valid for five minutes, so a captured request can be sent
    again byte for byte: the trigger id makes the copies no-ops."""
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        body = command_body("mute")
        headers = signed_headers(body, FORM)
        statuses = [(await tp.post(body, headers)).status for _ in range(3)]
        await tp.settle()
        once = await counters(tp)
        # The same command with a new trigger id is a new request and is answered.
        await tp.command("unmute")
        await tp.settle()
    assert statuses == [200, 200, 200]
    posts = slack_api.calls("chat.postEphemeral")
    assert len(posts) == 2
    assert once == {}  # mute counts nothing


async def test_a_replayed_signed_event_is_answered_once(slack_api: FakeSlackAPI,
                                                        library: PlaybookSet) -> None:
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        body = json.dumps(mention_event("help")).encode()
        headers = signed_headers(body, "application/json")
        statuses = [(await tp.post(body, headers)).status for _ in range(4)]
        await tp.settle()
    assert statuses == [200] * 4
    assert len(slack_api.posts()) == 1


async def _stream(size: int) -> AsyncIterator[bytes]:
    chunk = b" " * 65536
    for _ in range(size // len(chunk) + 1):
        yield chunk


@pytest.mark.parametrize("signed", [True, False])
async def test_bodies_of_megabytes_are_413_and_change_nothing(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture,
        signed: bool) -> None:
    big = b'{"type": "event_callback", "event": {"type": "message", "text": "' + \
        b"x" * MEGABYTES + b'"}}'
    headers = signed_headers(big, "application/json") if signed else {
        "Content-Type": "application/json"}
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        async with tp.http.post(tp.url + "/slack/events", data=io.BytesIO(big),
                                headers=headers) as sized:
            sized_status = sized.status
        # Without a Content-Length the server still stops reading at its limit.
        async with tp.http.post(tp.url + "/slack/events", data=_stream(MEGABYTES),
                                headers=headers) as streamed:
            streamed_status = streamed.status
        await tp.settle()
        assert await counters(tp) == {}
        assert (await tp.command("help")).status == 200  # still serving
        await slack_api.wait_for("chat.postEphemeral")
    assert (sized_status, streamed_status) == (413, 413)
    assert [c.method for c in slack_api.calls()] == ["auth.test", "chat.postEphemeral"]
    assert MAX_BODY < MEGABYTES
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(("body_kind", "content_type", "status", "answered"), [
    # Slack always labels its bodies; a mislabelled one is read by its shape, as bolt does.
    ("form", "text/plain", 200, True),
    ("form", "", 200, True),
    ("form", "multipart/form-data; boundary=x", 200, True),
    ("form", "application/json", 400, False),  # JSON promised, not JSON: malformed
    ("json", "text/plain", 200, True),
    ("json", FORM, 200, True),
    ("json", "application/octet-stream", 200, True),
])
async def test_wrong_content_types_are_read_by_shape_or_refused(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture,
        body_kind: str, content_type: str, status: int, answered: bool) -> None:
    body = command_body("help") if body_kind == "form" else \
        json.dumps(mention_event("help")).encode()
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        answer = await tp.post(body, signed_headers(body, content_type))
        await tp.settle()
    assert answer.status == status
    assert len(slack_api.posts()) == (1 if answered else 0)
    assert "Traceback" not in caplog.text


async def test_unknown_envelopes_and_events_and_an_event_that_is_no_object(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture) -> None:
    unknown_envelope = json.dumps({"type": "no_such_envelope", "team_id": "T0"}).encode()
    unknown_event = message_event("hello")
    unknown_event["event"]["type"] = "no_such_event"
    no_event = message_event("hello")
    no_event["event"] = "not an object"
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        refused = await tp.post(unknown_envelope,
                                signed_headers(unknown_envelope, "application/json"))
        acknowledged = (await tp.event(unknown_event)).status
        malformed = (await tp.event(no_event)).status
        await tp.settle()
        assert await counters(tp) == {}
    assert refused.status == 404  # bolt: nothing handles it, and Slack never sends it
    assert acknowledged == 200  # so that Slack does not retry it
    assert malformed == 400  # was a 500 and bolt's traceback in the log
    assert slack_api.posts() == []
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("text", STRANGE_TEXTS, ids=range(len(STRANGE_TEXTS)))
async def test_unicode_and_control_characters_in_a_command_get_an_answer(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture,
        text: str) -> None:
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        answer = await tp.command(text)
        (post,) = await slack_api.wait_for("chat.postEphemeral")
        await tp.settle()
    assert answer.status == 200
    assert post.ok
    assert "Traceback" not in caplog.text


async def test_lone_surrogates_and_control_characters_in_events(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture) -> None:
    """JSON may carry what UTF-8 cannot (`\\ud800`): in text, user, channel and event id."""
    strange = "\ud800 \udfff \x00 \u202e"
    events = [
        message_event(f"hello {strange}"),
        message_event("hello", user=f"U0{strange}"),
        message_event("hello", channel=f"C0{strange}"),
        mention_event(f"tell me about {strange}", event_id=f"Ev{strange}"),
    ]
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        statuses = [(await tp.event(e)).status for e in events]
        await tp.settle()
        assert (await tp.command("help")).status == 200
        await slack_api.wait_for("chat.postEphemeral")
    assert statuses == [200] * len(events)
    (mention_reply,) = slack_api.calls("chat.postMessage")
    assert mention_reply.ok
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("typed", [
    "<script>alert(1)</script> zzyzx",
    "&lt;!subteam^S0ADMINS&gt; zzyzx",
    "<!subteam^S0ADMINS|@admins> zzyzx",
    "<!date^1392734382^{date}|Feb 18> zzyzx",
    "```<!channel>``` `<@U0BOSS>` ~strike~ _em_ zzyzx",
    "[click](https://evil.example) zzyzx",
])
async def test_markup_in_a_mention_is_echoed_literally(slack_api: FakeSlackAPI,
                                                       library: PlaybookSet, typed: str) -> None:
    """The no-match answer quotes what was asked, in the channel's thread for everyone."""
    async with running(slack_api, library) as tp:
        await slack_api.wait_for("auth.test")
        await tp.event(mention_event(typed))
        (post,) = await slack_api.wait_for("chat.postMessage")
    shown = block_text(post)
    assert "zzyzx" in shown
    for forbidden in ("<!", "<http", "<@", "<script", "<b>"):
        assert forbidden not in shown
    assert all(b["text"].get("verbatim") is True
               for b in post.body["blocks"] if b["type"] == "section")


SLOW_PLAYBOOK = """\
id: slowpoke
title: Slow pattern
summary: A trigger whose regular expression backtracks catastrophically.
triggers:
  - regex: '(a|aa)+$'
guidance:
  - Nothing.
nudge: Nothing.
prompts:
  - Nothing.
examples:
  match:
    - aab
  no_match:
    - bbb
"""

PRICE_PLAYBOOK = """\
id: price
title: Price objection
summary: A customer says we cost too much.
triggers:
  - phrase: too expensive
  - keyword: discount
guidance:
  - Ask what they compare us with.
nudge: Lead with value.
prompts:
  - Who did you save money for today?
examples:
  match:
    - the client says we are too expensive
  no_match:
    - the coffee machine is too expensive
"""


@pytest.fixture(scope="module")
def backtracking_library() -> PlaybookSet:
    return PlaybookSet.parse([("playbooks/slowpoke.yaml", SLOW_PLAYBOOK),
                              ("playbooks/price.yaml", PRICE_PLAYBOOK)])


async def test_a_catastrophic_regex_in_a_trigger_is_cut_off_and_the_message_answered(
        slack_api: FakeSlackAPI, backtracking_library: PlaybookSet) -> None:
    """`(a|aa)+$` on sixty a's and a b would run for years; the matcher gives it
    a few hundredths of a second, counts it as no match and goes on."""
    attack = "a" * 60 + "b"
    async with running(slack_api, backtracking_library) as tp:
        await slack_api.wait_for("auth.test")
        await tp.command(f"the client says we are too expensive {attack}")
        await tp.command(attack)
        first, second = await slack_api.wait_for("chat.postEphemeral", 2)
        assert await counters(tp) == {"guide:price": 1, "unmatched": 1}
    assert "Price objection" in block_text(first)
    assert "No playbook clearly fits" in block_text(second)


# --- Teams ------------------------------------------------------------------------------------


@pytest.fixture
async def teams_server(library: PlaybookSet, teams_connector: FakeTeamsConnector
                       ) -> AsyncIterator[Running]:
    async with start(Settings(teams_dev=True), library, teams_connector) as running_teams:
        yield running_teams


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "", "application/json; charset=latin-1"])
async def test_teams_reads_a_signed_activity_whatever_its_label(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys, content_type: str) -> None:
    """With a token, the body is read by its shape (an installationUpdate, which is
    answered by saving the reference: replying would need a token from Microsoft)."""
    async with start(authenticated(bot_framework_keys), library, teams_connector) as server:
        raw = server.activity("installation_update_add.json")
        token = bot_framework_keys.token(APP_ID, raw["serviceUrl"])
        async with server.session.post(f"{server.url}/api/messages",
                                       data=json.dumps(raw).encode(),
                                       headers={"Content-Type": content_type,
                                                "Authorization": f"Bearer {token}"}
                                       ) as response:
            assert response.status == 200
        assert raw["conversation"]["id"] in await server.store.references("teams")


@pytest.mark.parametrize(("content_type", "status"), [
    ("application/json; charset=latin-1", 200), ("Application/JSON", 200),
    ("text/plain", 401), ("application/x-www-form-urlencoded", 401), ("", 401)])
async def test_teams_dev_mode_reads_json_labels_only(teams_server: Running, content_type: str,
                                                     status: int) -> None:
    """A web page could post a simple form to a local dev server: dev mode wants JSON."""
    raw = teams_server.activity("personal_message.json", text="help")
    async with teams_server.session.post(f"{teams_server.url}/api/messages",
                                         data=json.dumps(raw).encode(),
                                         headers={"Content-Type": content_type}) as response:
        assert response.status == status
    if status == 200:
        (post,) = await teams_server.connector.wait_for(1)
        assert post.body["type"] == "message"
    else:
        assert teams_server.connector.requests == []


async def test_teams_megabyte_bodies_and_unknown_types_change_nothing(
        teams_server: Running) -> None:
    before = store_state(teams_server.store)
    async with teams_server.session.post(
            f"{teams_server.url}/api/messages", data=io.BytesIO(b"{" + b" " * MEGABYTES + b"}"),
            headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
    for kind in ("noSuchType", "typing", "endOfConversation", "handoff", "trace"):
        status, _ = await teams_server.post(teams_server.activity("personal_message.json",
                                                                  type=kind))
        assert status == 200, kind
    assert teams_server.connector.requests == []
    assert store_state(teams_server.store) == before


@pytest.mark.parametrize("text", STRANGE_TEXTS + ["\ud800 lone \udfff surrogates"],
                         ids=range(len(STRANGE_TEXTS) + 1))
async def test_teams_unicode_and_control_characters_get_an_answer(teams_server: Running,
                                                                  text: str) -> None:
    status, _ = await teams_server.post(teams_server.activity("personal_message.json",
                                                              text=text))
    assert status == 200
    (post,) = await teams_server.connector.wait_for(1)
    assert post.status == 200


@pytest.mark.parametrize("typed", [
    "<script>alert(1)</script> zzyzx",
    "**bold** [click](https://evil.example) zzyzx",
    "<at>Everyone</at> &lt;b&gt; zzyzx",
])
async def test_teams_echoed_markup_is_plain_text(teams_server: Running, typed: str) -> None:
    await teams_server.post(teams_server.activity("personal_message.json", text=typed))
    (post,) = await teams_server.connector.wait_for(1)
    card = post.card
    assert card is not None
    runs = [inline for block in card["body"] for inline in block.get("inlines", [])]
    echoed = [r for r in runs if "zzyzx" in r["text"]]
    assert echoed, runs
    # RichTextBlock's TextRun is never parsed as markdown or HTML; the words arrive as typed,
    # minus the tags the Teams client added (an <at> mention becomes its name).
    assert all(r["type"] == "TextRun" for r in runs)
    assert "<at>" not in json.dumps(echoed)


# --- the call-ended webhook -------------------------------------------------------------------


@pytest.fixture
async def hook(library: PlaybookSet, slack_api: FakeSlackAPI) -> AsyncIterator[Hook]:
    async with serving(library, slack_api) as running_hook:
        yield running_hook


async def test_webhook_megabytes_without_a_length_are_413(hook: Hook) -> None:
    async with hook.http.post(hook.url + webhooks.ROUTE, data=_stream(MEGABYTES), headers={
            "webhook-id": "msg_1", "webhook-timestamp": "1",
            "webhook-signature": "v1," + "A" * 44}) as response:
        assert response.status == 413
    assert (await hook.send(call(HAPPY)))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("content_type", ["text/plain", FORM, "", "application/xml"])
async def test_webhook_signed_but_not_json_labelled_is_400(hook: Hook, content_type: str) -> None:
    status, _ = await hook.send(call(HAPPY), content_type=content_type)
    assert status == 400
    assert (await hook.send(call(HAPPY)))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_webhook_markup_and_control_characters_in_echoed_fields(hook: Hook) -> None:
    payload = call(HAPPY + " \x07\ud800 <!here>",
                   customer="<!channel> *Acme* <https://evil.example|Acme>\x00\u202e")
    assert (await hook.send(payload))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    text = post.body["text"] + block_text(post)
    assert "<!channel>" not in text and "<!here>" not in text and "<https" not in text

