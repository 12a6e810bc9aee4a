"""Replies as Block Kit, and where in Slack each one goes."""

from __future__ import annotations

from typing import Any

from helpers import said
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.blocks import (
    MAX_BLOCKS,
    MAX_BUTTON_LABEL,
    MAX_SECTION,
    escape,
    plan,
    render,
)
from adapters.slack.payloads import Incoming
from bot.events import CallEnded, Event, Via
from bot.messages import Button, Reply, Section


def incoming(kind: Via | None = "command", *, thread: str = "", threaded: bool = False,
             direct: bool = False, response_url: str = "") -> Incoming:
    """An answer's occasion: words said `kind`, or (None) a call that ended."""
    event: Event = said("x", kind, id="e1", thread=thread) if kind is not None else CallEnded(
        texts=("x",), user="U1", channel="C1", platform="slack", id="e1", thread=thread)
    return Incoming(event, threaded=threaded, direct=direct, response_url=response_url)


def mrkdwn(body: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(st.text())
def test_no_text_can_become_markup(text: str) -> None:
    body = render(Reply(text=text, sections=(Section(text=text, title=text, bullets=(text,)),)))
    for shown in [body["text"], *mrkdwn(body)]:
        assert "<" not in shown and ">" not in shown
    assert unescape(escape(text)) == text


def test_sections_become_titled_mrkdwn_blocks_and_buttons_an_actions_block() -> None:
    reply = Reply(
        text="Price objection: they say we cost too much",
        sections=(Section(title="Price objection", text="they say we cost too much"),
                  Section(title="What to do", text="", bullets=("Ask why", "Trade, don't cave"))),
        buttons=(Button("Helpful", "helpful", "price-objection", primary=True),
                 Button("Show the whole playbook", "show", "price-objection")),
    )
    body = render(reply)
    assert mrkdwn(body) == ["*Price objection*\nthey say we cost too much",
                            "*What to do*\n\u2022 Ask why\n\u2022 Trade, don't cave"]
    assert body["text"] == reply.text
    actions = body["blocks"][-1]
    assert actions["type"] == "actions"
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        ("touchpoint:helpful:0", "price-objection", "primary"),
        ("touchpoint:show:1", "price-objection", None),
    ]


def test_text_is_shown_when_no_section_says_it() -> None:
    body = render(Reply(text="Muted.", sections=()))
    assert mrkdwn(body) == ["Muted."]
    body = render(Reply(text="Intro", sections=(Section(text="More"),)))
    assert mrkdwn(body) == ["Intro", "More"]


def test_slack_limits_are_kept() -> None:
    long = "word " * 2000
    reply = Reply(
        text=long,
        sections=tuple(Section(text=long, bullets=(long,) * 3) for _ in range(30)),
        buttons=(Button("x" * 200, "show", "p"),),
    )
    body = render(reply)
    assert len(body["blocks"]) <= MAX_BLOCKS
    assert body["blocks"][-1]["type"] == "actions"  # the buttons survive the cut
    assert all(len(t) <= MAX_SECTION for t in mrkdwn(body))
    assert len(body["blocks"][-1]["elements"][0]["text"]["text"]) <= MAX_BUTTON_LABEL


def test_cutting_never_splits_an_entity() -> None:
    body = render(Reply(text="&" * 5000))
    assert body["text"].endswith("&amp;\u2026")


def test_an_ephemeral_answer_to_a_command() -> None:
    post = plan(Reply(text="hi", ephemeral=True), incoming(response_url="https://hooks/x"))
    assert post.method == "chat.postEphemeral"
    assert (post.args["channel"], post.args["user"]) == ("C1", "U1")
    assert "thread_ts" not in post.args
    assert post.fallback is not None and post.fallback["response_type"] == "ephemeral"
    assert post.response_url == "https://hooks/x"


def test_a_threaded_answer() -> None:
    post = plan(Reply(text="hi", in_thread=True), incoming("mention", thread="111.1"))
    assert (post.method, post.args["thread_ts"]) == ("chat.postMessage", "111.1")
    assert post.fallback is None


def test_an_answer_inside_a_thread_stays_there_even_when_not_asked() -> None:
    post = plan(Reply(text="hi", ephemeral=True), incoming("mention", thread="111.1",
                                                            threaded=True))
    assert post.args["thread_ts"] == "111.1"


def test_a_dm_gets_messages_not_ephemerals() -> None:
    post = plan(Reply(text="hi", ephemeral=True), incoming("direct", direct=True))
    assert post.method == "chat.postMessage" and "user" not in post.args


def test_a_reply_for_one_person_elsewhere_goes_to_their_dm() -> None:
    post = plan(Reply(text="recap", user="U7"), incoming(None, thread="1.1"))
    assert post.method == "chat.postMessage"
    assert post.args["channel"] == "U7" and "thread_ts" not in post.args
