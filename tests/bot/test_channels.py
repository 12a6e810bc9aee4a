"""`nudges off|on` and `digest weekly|off`: the per-channel switches, through the handler."""

from __future__ import annotations

import datetime as dt

import pytest
from stores import DownStore

from bot.admin import Admins
from bot.channels import digest_space, parse_digest
from bot.handler import Handler, HandlerSettings
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import Kind, Message
from bot.schedule import Subscription

MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC).timestamp()


def msg(text: str, kind: Kind = "command", user: str = "U1", channel: str = "C1",
        platform: str = "slack") -> Message:
    return Message(text=text, user=user, channel=channel, platform=platform,  # type: ignore[arg-type]
                   kind=kind)


def handler_with(library: PlaybookSet, **settings: object) -> Handler:
    return Handler(library, MemoryStore(), HandlerSettings(**settings),  # type: ignore[arg-type]
                   clock=lambda: MONDAY_NOON)


def nudging(library: PlaybookSet) -> str:
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            best = library.matcher.match(text, "nudge").best
            if best is not None:
                return text
    pytest.fail("no shipped example nudges")


async def test_anyone_in_a_channel_switches_its_nudges_off_and_on(library: PlaybookSet) -> None:
    handler = handler_with(library)
    text = nudging(library)
    (reply,) = await handler.handle(msg("nudges off", user="U2"))
    assert reply.ephemeral and "Nudges are off in this channel" in reply.text
    assert await handler.store.nudges_off("slack") == {"C1": "slack:U2"}
    assert await handler.handle(msg(text, kind="channel")) == []
    assert await handler.handle(msg(text, kind="channel", channel="C2")) != []
    (reply,) = await handler.handle(msg("NUDGES  ON"))
    assert "on in this channel again" in reply.text
    assert await handler.handle(msg(text, kind="channel")) != []


async def test_teams_mentions_switch_nudges_too(library: PlaybookSet) -> None:
    handler = handler_with(library)
    (reply,) = await handler.handle(msg("nudges off", kind="mention", platform="teams"))
    assert "@Touchpoint nudges on" in reply.text
    assert await handler.store.nudges_off("teams") == {"C1": "teams:U1"}


async def test_a_switcher_list_restricts_who_may_switch(library: PlaybookSet) -> None:
    handler = handler_with(library, nudge_switchers=Admins.parse("U7"),
                           admins=Admins.parse("U9"))
    (reply,) = await handler.handle(msg("nudges off", user="U1"))
    assert "TOUCHPOINT_NUDGE_SWITCHERS" in reply.text
    assert await handler.store.nudges_off("slack") == {}
    for allowed in ("U7", "U9"):
        await handler.handle(msg("nudges off", user=allowed))
        assert await handler.store.nudges_off("slack") == {"C1": f"slack:{allowed}"}


async def test_nudges_without_on_or_off_explain_themselves(library: PlaybookSet) -> None:
    (reply,) = await handler_with(library).handle(msg("nudges sideways"))
    assert "nudges off" in reply.text and "nudges on" in reply.text


async def test_a_store_that_cannot_say_means_no_nudge(library: PlaybookSet) -> None:
    handler = Handler(library, DownStore("nudges_allowed"))
    assert await handler.handle(msg(nudging(library), kind="channel")) == []


async def test_admins_subscribe_a_channel_to_the_weekly_digest(library: PlaybookSet) -> None:
    handler = handler_with(library, admins=Admins.parse("U9"))
    (reply,) = await handler.handle(msg("digest weekly", user="U9"))
    assert "Weekly digest on: every Mon at 09:00 (UTC)" in reply.text
    assert "Mon 07 Dec at 09:00" in reply.text
    stored = await handler.store.subscriptions(digest_space("slack"))
    sub = Subscription.from_json("slack", "C1", stored["C1"])
    assert (sub.weekdays, sub.zone) == ((0,), "UTC")
    assert await handler.store.subscriptions("slack") == {}  # not a daily prompt
    (reply,) = await handler.handle(msg("digest off", user="U9"))
    assert reply.text.startswith("Digest off")
    assert await handler.store.subscriptions(digest_space("slack")) == {}


async def test_only_admins_get_the_digest(library: PlaybookSet) -> None:
    handler = handler_with(library, admins=Admins.parse("U9"))
    (reply,) = await handler.handle(msg("digest weekly", user="U1"))
    assert "Only Touchpoint admins" in reply.text
    assert await handler.store.subscriptions(digest_space("slack")) == {}


async def test_a_malformed_digest_request_shows_examples(library: PlaybookSet) -> None:
    handler = handler_with(library, admins=Admins.parse("U9"))
    (reply,) = await handler.handle(msg("digest weekly 09:00", user="U9"))
    assert "time zone" in reply.text and reply.sections[0].bullets


def test_digest_times_days_and_zones() -> None:
    sub = parse_digest("slack", "C1", "weekly 08:30 Europe/Berlin fri")
    assert (sub.time_shown, sub.zone, sub.weekdays) == ("08:30", "Europe/Berlin", (4,))
    with pytest.raises(ValueError, match="one day"):
        parse_digest("slack", "C1", "weekly mon-fri")
    with pytest.raises(ValueError):
        parse_digest("slack", "C1", "daily")


async def test_a_shortcut_on_a_message_without_text_says_so(library: PlaybookSet) -> None:
    (reply,) = await handler_with(library).handle(msg("  ", kind="shortcut"))
    assert reply.ephemeral and "no text" in reply.text


async def test_a_shortcut_is_answered_privately_like_the_command(library: PlaybookSet) -> None:
    text = library.playbooks[0].examples.match[0]
    handler = handler_with(library)
    (shortcut,) = await handler.handle(msg(text, kind="shortcut"))
    (command,) = await handler.handle(msg(text))
    assert shortcut == command and shortcut.ephemeral and not shortcut.in_thread
