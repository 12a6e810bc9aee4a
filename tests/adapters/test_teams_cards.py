"""The core's replies as Teams message activities and Adaptive Cards: pure."""

from __future__ import annotations

from adapters.teams import cards as teams_cards
from bot.messages import Button, Reply, Section


def test_notice_is_plain_text_and_the_rest_are_cards() -> None:
    assert teams_cards.render(Reply(text="Muted.")) == {
        "type": "message", "text": "Muted.", "textFormat": "plain"}
    body = teams_cards.render(Reply(text="x", sections=(Section(text="y"),)))
    assert body["attachments"][0]["contentType"] == teams_cards.CARD_CONTENT_TYPE
    assert body["summary"] == "x"


def test_card_text_is_literal_and_not_repeated() -> None:
    reply = Reply(
        text="Price: **cheap** [link](https://evil.example)",
        sections=(Section(title="Price", text="**cheap** [link](https://evil.example)"),
                  Section(title="What to do", text="", bullets=("Ask *why*", "Listen"))),
        buttons=(Button("Helpful", "helpful", "price", primary=True),
                 Button("Show", "show", "price")),
    )
    card = teams_cards.card(reply)
    blocks = card["body"]
    assert all(b["type"] == "RichTextBlock" for b in blocks)
    runs = [b["inlines"][0]["text"] for b in blocks]
    assert runs == ["Price", "**cheap** [link](https://evil.example)", "What to do",
                    "• Ask *why*", "• Listen"]
    assert card["fallbackText"] == reply.text
    helpful, show = card["actions"]
    assert helpful["style"] == "positive" and "style" not in show
    assert helpful["verb"] == "helpful"
    assert helpful["data"] == {"touchpoint": "helpful", "playbook": "price"}
    assert helpful["fallback"] == {"type": "Action.Submit", "title": "Helpful",
                                   "data": helpful["data"], "style": "positive"}


def test_card_shows_the_headline_when_sections_do_not_say_it() -> None:
    card = teams_cards.card(Reply(text="12 playbooks.", sections=(
        Section(title="Playbooks", text="", bullets=("a", "b")),)))
    assert card["body"][0]["inlines"][0]["text"] == "12 playbooks."
    assert "actions" not in card


def test_execute_response() -> None:
    assert teams_cards.execute_response("Thanks") == {
        "statusCode": 200, "type": "application/vnd.microsoft.activity.message",
        "value": "Thanks"}
