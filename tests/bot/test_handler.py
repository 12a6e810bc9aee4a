"""The core handler, driven exactly as adapters drive it: Message in, Replies out."""

from __future__ import annotations

import pytest
from stores import DownStore

from bot import feedback
from bot.handler import UNSAVED, Handler, HandlerSettings
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import Kind, Message


def msg(text: str, kind: Kind = "command", id: str = "", value: str = "",
        user: str = "U1", channel: str = "C1") -> Message:
    return Message(text=text, user=user, channel=channel, platform="slack", kind=kind, id=id,
                   value=value)


@pytest.fixture
def handler(library: PlaybookSet) -> Handler:
    return Handler(library, MemoryStore(), HandlerSettings(nudge_cooldown=3600))


NUDGE = ("just got off the phone with acme, the customer is furious about the outage "
         "and wants to cancel")


async def test_help_for_empty_and_help(handler: Handler) -> None:
    for text in ("", "help", "  HELP  "):
        (reply,) = await handler.handle(msg(text))
        assert reply.ephemeral
        assert any("list" in b for s in reply.sections for b in s.bullets)


async def test_list_shows_every_playbook(handler: Handler, library: PlaybookSet) -> None:
    (reply,) = await handler.handle(msg("list"))
    bullets = reply.sections[0].bullets
    assert len(bullets) == len(library.playbooks)
    assert bullets[0].startswith(library.playbooks[0].id)


async def test_show_a_playbook(handler: Handler) -> None:
    (reply,) = await handler.handle(msg("show renewal"))
    assert reply.sections[0].title == "Renewal" or "renewal" in reply.text.lower()
    titles = [s.title for s in reply.sections]
    assert "What to do" in titles and "Daily prompts" in titles


async def test_show_unknown_suggests_close_ids(handler: Handler) -> None:
    (reply,) = await handler.handle(msg("show renewl"))
    assert "renewal" in reply.text and reply.ephemeral


async def test_show_without_an_id_lists_the_playbooks(handler: Handler,
                                                      library: PlaybookSet) -> None:
    for text in ("show", "  SHOW  "):
        (reply,) = await handler.handle(msg(text))
        assert reply.ephemeral and '""' not in reply.text
        assert len(reply.sections[0].bullets) == len(library.playbooks)


async def test_answers_say_why_in_plain_words_and_explain_adds_evidence(
        library: PlaybookSet) -> None:
    text = "the client says our quote is way too expensive"
    plain = Handler(library, MemoryStore())
    (reply,) = await plain.handle(msg(text))
    why = next(s.text for s in reply.sections if s.title == "Why this playbook")
    assert why.startswith("Matched because you mentioned") and "Score" not in why
    assert "Evidence" not in [s.title for s in reply.sections]
    explained = Handler(library, MemoryStore(), HandlerSettings(explain=True))
    (reply,) = await explained.handle(msg(text))
    evidence = next(s.text for s in reply.sections if s.title == "Evidence")
    assert evidence.startswith("Score ") and 'phrase "too expensive"' in evidence


async def test_another_language_is_said_not_guessed(handler: Handler) -> None:
    french = "le client dit que notre prix est trop élevé par rapport au concurrent"
    (reply,) = await handler.handle(msg(french))
    assert reply.ephemeral and not reply.buttons
    assert reply.text.startswith("This looks like French, and so far I only understand English")
    assert await handler.store.counters("guide:") == {}
    assert await handler.handle(msg(french + " et veut annuler", kind="channel", id="f1")) == []


async def test_guidance_for_free_text(handler: Handler) -> None:
    (reply,) = await handler.handle(msg("the client says our quote is way too expensive"))
    assert reply.ephemeral and not reply.in_thread
    assert [b.action for b in reply.buttons] == ["share", "helpful", "not_helpful", "show"]
    assert all(feedback.read_button(b.value)[0] == "price-objection" for b in reply.buttons)
    assert feedback.read_button(reply.buttons[2].value) == (
        "price-objection", "the client says our quote is way too expensive")
    assert any(s.title == "Why this playbook" for s in reply.sections)
    assert await handler.store.counters("guide:") == {"guide:price-objection": 1}


async def test_mention_is_answered_in_thread(handler: Handler) -> None:
    (reply,) = await handler.handle(msg("the client says we are too expensive", kind="mention"))
    assert reply.in_thread and not reply.ephemeral
    assert "share" not in [b.action for b in reply.buttons]


async def test_no_match_offers_suggestions_and_list(handler: Handler) -> None:
    (reply,) = await handler.handle(msg("what's for lunch"))
    assert "list" in reply.sections[0].text
    assert await handler.store.counters("unmatched") == {"unmatched": 1}


async def test_channel_nudge_then_cooldown(handler: Handler) -> None:
    (reply,) = await handler.handle(msg(NUDGE, kind="channel", id="e1"))
    assert reply.in_thread and not reply.ephemeral
    assert [b.action for b in reply.buttons] == ["show"]
    assert await handler.handle(msg(NUDGE + " again", kind="channel", id="e2")) == []
    assert await handler.handle(msg(NUDGE, kind="channel", id="e3", channel="C2")) != []


async def test_channel_chatter_stays_quiet(handler: Handler) -> None:
    for n, text in enumerate(["lunch?", "on-call handoff at 6", "the build is red", ""]):
        assert await handler.handle(msg(text, kind="channel", id=f"c{n}")) == []


async def test_muted_user_is_never_nudged(handler: Handler) -> None:
    await handler.handle(msg("mute"))
    assert await handler.handle(msg(NUDGE, kind="channel", id="e1")) == []
    await handler.handle(msg("unmute"))
    assert await handler.handle(msg(NUDGE, kind="channel", id="e2")) != []


async def test_same_delivery_id_answered_once(handler: Handler) -> None:
    first = await handler.handle(msg("help", id="Ev1"))
    assert first and await handler.handle(msg("help", id="Ev1")) == []


async def test_buttons(handler: Handler) -> None:
    (helpful,) = await handler.handle(msg("helpful", kind="action", value="renewal"))
    assert helpful.ephemeral
    await handler.handle(msg("not_helpful", kind="action", value="renewal"))
    (shared,) = await handler.handle(msg("share", kind="action", value="renewal"))
    assert not shared.ephemeral
    (shown,) = await handler.handle(msg("show", kind="action", value="renewal"))
    assert any(s.title == "What to do" for s in shown.sections)
    (gone,) = await handler.handle(msg("show", kind="action", value="no-such"))
    assert "no longer" in gone.text
    counters = await handler.store.counters()
    assert counters["helpful:renewal"] == 1 and counters["not_helpful:renewal"] == 1
    assert counters["share:renewal"] == 1


async def test_call_ended_gives_checklist_and_matched_playbook(handler: Handler) -> None:
    (reply,) = await handler.handle(Message(
        text="customer was very angry about the delays and threatened to cancel",
        user="U9", channel="C1", platform="slack", kind="call_ended", value="Acme"))
    titles = [s.title for s in reply.sections]
    assert titles[0] == "After the call" and len(titles) == 2
    assert reply.user == "U9" and "Acme" in reply.text


async def test_swap_serves_the_new_set(handler: Handler, library: PlaybookSet) -> None:
    smaller = PlaybookSet.build(library.playbooks[:1], library.background)
    handler.swap(smaller)
    (reply,) = await handler.handle(msg("list"))
    assert len(reply.sections[0].bullets) == 1


async def test_guidance_keeps_answering_when_the_store_is_down(library: PlaybookSet) -> None:
    handler = Handler(library, DownStore("first_time", "is_muted", "set_muted", "incr_counts"))
    (reply,) = await handler.handle(msg("client says we're too expensive", id="x"))
    assert reply.buttons
    (reply,) = await handler.handle(msg("mute"))
    assert reply.text == UNSAVED
