"""Joining a conversation: one short greeting, even when the platform delivers the event twice."""

from __future__ import annotations

from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import KINDS, Message


def added(id: str = "join-1") -> Message:
    return Message(text="", user="u1", channel="c1", platform="teams", kind="added", id=id)


async def test_added_greets_once_per_delivery_id(library: PlaybookSet) -> None:
    store = MemoryStore()
    handler = Handler(library, store)
    first = await handler.handle(added())
    assert len(first) == 1
    welcome = first[0]
    assert "Touchpoint" in welcome.text
    assert "@Touchpoint help" in " ".join(s.text for s in welcome.sections)
    assert not welcome.ephemeral and not welcome.buttons
    assert await handler.handle(added()) == []
    assert await store.counters("added") == {"added": 1}


async def test_added_is_a_kind() -> None:
    assert "added" in KINDS
