"""Hypothesis against every parser of outside input: whatever arrives, each one returns its
result or its own documented refusal, and never raises anything else.

Inputs are both arbitrary (any text, any JSON) and near-misses: the captured Slack and
Teams payloads and a good playbook with parts replaced, so the fuzzing reaches the
branches behind the first check. Bounded for CI: `max_examples` per test, no deadline.
"""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.slack import feedback as slack_feedback
from adapters.slack import payloads as slack_payloads
from adapters.teams import activity as teams_activity
from adapters.teams import feedback as teams_feedback
from bot import feedback
from bot.calls import Call
from bot.events import ButtonPressed, Event
from bot.playbooks import Playbook, PlaybookErrors, parse_playbook
from touchpoint import call_payloads, webhooks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
bounded = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

chat_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from([
        "<@U0FAKEBOT>", "<@U123|bob>", "<#C1|sales>", "<!here>", "<!subteam^S1|@a>", "<at>Bot</at>",
        "<https://x.io|label>", "&lt;", "&amp;", "<b>", "</p>", "\x00", "\ud800", "\u202e", "🙂",
        "customer", "too expensive", " ", "\n", "<", ">", "|",
    ]), max_size=20).map("".join),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    chat_text)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


@st.composite
def mutated(draw: st.DrawFn, fixtures: list[str]) -> Any:
    """A captured payload with a few of its parts (at any depth) replaced by anything."""
    value = copy.deepcopy(_load(draw(st.sampled_from(fixtures))))
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        value = _replace(value, path, draw(json_values))
    return value


# --- Slack payloads --------------------------------------------------------------------------

SLACK_EVENTS = [f"slack/{name}.json" for name in (
    "event_message", "event_app_mention", "event_message_bot", "event_message_bot_self",
    "event_message_edited", "event_message_changed_unfurl")]


def _check_incoming(incoming: slack_payloads.Incoming | None) -> None:
    if incoming is None:
        return
    message = incoming.message
    assert isinstance(message, Event)
    assert message.platform == "slack"
    assert message.user and message.channel
    assert all(isinstance(getattr(message, f.name), str) for f in fields(message))
    assert isinstance(incoming.response_url, str)


@bounded
@given(body=st.one_of(mutated(SLACK_EVENTS), json_values),
       bot_user=st.sampled_from(["", "U0FAKEBOT", "U0LBKQJ4B"]))
def test_slack_events_translate_or_are_ignored(body: Any, bot_user: str) -> None:
    assume(isinstance(body, dict))
    _check_incoming(slack_payloads.from_event(body, bot_user))


@bounded
@given(body=st.one_of(mutated(["slack/block_actions.json"]), json_values))
def test_slack_actions_translate_or_are_ignored(body: Any) -> None:
    assume(isinstance(body, dict))
    incoming = slack_payloads.from_action(body)
    _check_incoming(incoming)
    if incoming is not None:
        assert incoming.message.kind == "action"


SLASH_FORM = dict(parse_qsl((FIXTURES / "slack" / "slash_command.txt").read_text(),
                            keep_blank_values=True))


@bounded
@given(changes=st.dictionaries(st.sampled_from(sorted(SLASH_FORM) + ["other"]), json_values,
                               max_size=5))
def test_slack_commands_translate_or_are_ignored(changes: dict[str, Any]) -> None:
    incoming = slack_payloads.from_command({**SLASH_FORM, **changes})
    _check_incoming(incoming)
    if incoming is not None:
        assert incoming.message.kind == "command"


@bounded
@given(body=st.one_of(st.binary(), chat_text.map(lambda t: t.encode(errors="surrogatepass")),
                      mutated(["slack/block_actions.json", *SLACK_EVENTS]).map(
                          lambda v: json.dumps(v).encode()),
                      mutated(["slack/block_actions.json"]).map(
                          lambda v: urlencode({"payload": json.dumps(v)}).encode())),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "", "text/plain"]))
def test_slack_bodies_are_read_or_refused_with_a_reason(body: bytes, content_type: str) -> None:
    try:
        found = slack_payloads.parse_body(body, content_type)
    except slack_payloads.BadBody as exc:
        assert str(exc)
        return
    assert isinstance(found, dict)


def test_slack_forms_are_commands_unless_they_have_a_payload_field() -> None:
    command = urlencode({"command": "/touchpoint", "text": "payload", "team_domain": "payload"})
    assert slack_payloads.parse_body(command.encode(), "application/x-www-form-urlencoded") == {
        "command": "/touchpoint", "text": "payload", "team_domain": "payload"}
    action = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})})
    assert slack_payloads.parse_body(action.encode(), "application/x-www-form-urlencoded") == {
        "type": "block_actions", "actions": []}


@bounded
@given(text=chat_text, bot_user=st.sampled_from(["", "U0FAKEBOT", "U.*", "U(", "W\\"]))
def test_slack_decode_text_is_text(text: str, bot_user: str) -> None:
    """The bot's own id goes into a regular expression: it is escaped, whatever it holds."""
    plain = slack_payloads.decode_text(text, bot_user)
    assert isinstance(plain, str) and plain == plain.strip()


@bounded
@given(action=st.text(), index=st.integers(0, 10_000))
def test_slack_action_ids_round_trip(action: str, index: int) -> None:
    name = slack_payloads.action_name(slack_payloads.action_id(action, index))
    assert name == (action.partition(":")[0] or None)


@bounded
@given(body=st.one_of(mutated(["slack/view_submission.json"]), json_values))
def test_slack_view_submissions_translate_or_are_ignored(body: Any) -> None:
    assume(isinstance(body, dict))
    incoming = slack_feedback.from_submission(body)
    _check_incoming(incoming)
    if incoming is not None:
        assert isinstance(incoming.message, ButtonPressed)
        assert incoming.message.action == feedback.SUBMIT


@bounded
@given(value=st.one_of(chat_text, json_values.map(json.dumps),
                       st.builds(feedback.submission, st.one_of(
                           chat_text, json_values.map(json.dumps)), chat_text, chat_text)))
def test_feedback_values_are_read_or_refused(value: str) -> None:
    found = feedback.read_submission(value)
    if found is not None:
        assert found.shown and found.chosen and len(found.why) <= feedback.MAX_WHY
    assert all(isinstance(part, str) for part in feedback.read_button(value))
    stored = feedback.read_stored(value)
    assert stored is None or (stored.shown and stored.chosen)


@bounded
@given(data=st.dictionaries(st.sampled_from([teams_feedback.CHOICE_ID, teams_feedback.WHY_ID,
                                             "other"]), json_values, max_size=3),
       context=chat_text)
def test_teams_form_inputs_are_read_or_refused(data: dict[str, Any], context: str) -> None:
    value = teams_feedback.submission(data, context)
    assert value is None or isinstance(value, str)


# --- Teams activities ------------------------------------------------------------------------

TEAMS_ACTIVITIES = sorted(p.name for p in (FIXTURES / "teams").glob("*.json"))


@bounded
@given(raw=st.one_of(mutated([f"teams/{n}" for n in TEAMS_ACTIVITIES]), json_values))
def test_teams_activities_are_refused_with_a_reason_or_translated(raw: Any) -> None:
    problem = teams_activity.activity_problem(raw)
    if problem is not None:
        assert isinstance(problem, str) and problem
        return
    assert isinstance(raw, dict)
    message = teams_activity.to_event(raw)
    if message is not None:
        assert message.platform == "teams"
        assert all(isinstance(getattr(message, f.name), str) for f in fields(message))
    assert isinstance(teams_activity.bot_added(raw), bool)
    assert isinstance(teams_activity.bot_removed(raw), bool)
    assert isinstance(teams_activity.delivery_id(raw), str)
    assert isinstance(teams_activity.typed_text(raw), str)
    where = teams_activity.where(raw)
    assert isinstance(where.conversation, str) and isinstance(where.root, str)


# --- the call-ended webhook ------------------------------------------------------------------

CALL = {"platform": "slack", "channel": "C0SALES01", "customer": "Acme",
        "summary": "They were unhappy", "owner": "U0OWNER01"}


@bounded
@given(body=st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(sorted(CALL) + ["extra"]), json_values, max_size=5)
    .map(lambda changes: json.dumps({**CALL, **changes}).encode()),
), platforms=st.sampled_from([frozenset({"slack"}), frozenset({"slack", "teams"}), frozenset()]))
def test_webhook_bodies_parse_or_name_the_bad_field(body: bytes,
                                                    platforms: frozenset[str]) -> None:
    try:
        call = webhooks.parse_call(body, platforms)
    except webhooks.BadBody as exc:
        assert exc.field in ("", *CALL)
        assert str(exc)
        return
    assert call.platform in platforms
    assert call.channel and not any(c.isspace() for c in call.channel)
    assert call.customer and call.texts and call.texts[0]


# --- call recorders: Gong and Zoom ------------------------------------------------------------


def _call_body(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@bounded
@given(body=st.one_of(mutated(["calls/gong_call.json"]), json_values).map(_call_body))
def test_gong_bodies_read_into_a_call_or_name_the_bad_field(body: bytes) -> None:
    try:
        found = call_payloads.gong_call(body)
    except call_payloads.BadPayload as exc:
        assert str(exc)
        return
    call = found.call
    assert call.source == "gong" and call.id and isinstance(found.is_test, bool)
    assert Call.from_json(call.to_json()) == call
    assert all(isinstance(t, str) and t for t in call.texts)


@bounded
@given(body=st.one_of(mutated(["calls/zoom_meeting_ended.json", "calls/zoom_url_validation.json"]),
                      json_values).map(_call_body))
def test_zoom_bodies_read_into_an_event_or_name_the_bad_field(body: bytes) -> None:
    try:
        event = call_payloads.zoom_event(body)
    except call_payloads.BadPayload as exc:
        assert str(exc)
        return
    assert event.event
    if event.event == "endpoint.url_validation":
        assert event.plain_token
    if event.call is not None:
        assert event.call.id and event.call.host
        assert Call.from_json(event.call.to_json()) == event.call


# --- playbooks -------------------------------------------------------------------------------

GOOD = (Path(__file__).resolve().parent.parent / "playbooks").glob("*.yaml")
GOOD_TEXT = next(p.read_text() for p in sorted(GOOD) if p.name != "background.yaml"
                 and p.name != "schedule.yaml")

yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(
                                ["id", "title", "summary", "triggers", "guidance", "nudge",
                                 "prompts", "examples", "match", "no_match", "phrase",
                                 "keyword", "regex", "veto", "weight"]), st.text(max_size=6)),
                                inner, max_size=5)),
    max_leaves=15)


@st.composite
def edited_playbook(draw: st.DrawFn) -> str:
    """A shipped playbook with lines deleted, duplicated or replaced by any text."""
    lines = GOOD_TEXT.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "indent"]))
        if action == "delete" and at < len(lines):
            del lines[at]
        elif action == "insert":
            lines.insert(at, draw(st.text(max_size=40)))
        elif action == "replace" and at < len(lines):
            key, _, _ = lines[at].partition(":")
            lines[at] = key + ": " + draw(st.text(max_size=40))
        elif action == "indent" and at < len(lines):
            lines[at] = " " * draw(st.integers(1, 5)) + lines[at]
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(
    st.text(),
    yaml_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    edited_playbook(),
    st.sampled_from(["&a [*a]", "a: &a\n  b: *a\n", "!!python/object:os.system {}",
                     "{" * 200, "- " * 200, "%YAML 9.9\n---\nid: x", "\t", "\x00", "\ufeff"]),
))
def test_any_text_is_a_playbook_or_located_errors(text: str) -> None:
    source = "playbooks/fuzzed.yaml"
    try:
        playbook = parse_playbook(source, text)
    except PlaybookErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.source == source and error.line >= 1 and error.column >= 1
            assert error.message
        return
    assert isinstance(playbook, Playbook)
    assert playbook.triggers and playbook.guidance
