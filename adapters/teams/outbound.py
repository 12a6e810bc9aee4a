"""Teams posts the bot starts itself, through the conversation references it saved.

`TeamsAdapter` already retries a post within bounds (`retry_after.retrying`) and drops
the reference of a conversation that answers 403; its outcome says which happened,
so a 403 is "gone" (`teams_connector.classify`) and any other failure is left to
the scheduler to retry. Posts go through the bot's one connector client factory.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from adapters.outbound import Result, Unavailable
from adapters.teams.config import PLATFORM
from adapters.teams.connector import classify
from bot.messages import Reply
from bot.store import Store, StoreError

if TYPE_CHECKING:  # the adapter makes its outbound: imported only for the type
    from adapters.teams.app import TeamsAdapter

log = logging.getLogger("touchpoint.teams")

REFERENCES_FOR = 30.0
"""Seconds the references are reused within a fan-out, instead of reading them per post."""


class TeamsOutbound:
    platform = PLATFORM

    def __init__(self, bot: TeamsAdapter, store: Store, owns_bot: bool = False) -> None:
        self._bot = bot
        self._store = store
        self._owns_bot = owns_bot
        """True when made for one command (touchpoint prompt): close closes the bot too."""
        self._references: dict[str, str] = {}
        self._read_at = float("-inf")
        self._people: dict[str, frozenset[str]] = {}

    async def close(self) -> None:
        if self._owns_bot:
            await self._bot.close()

    async def _reference(self, conversation: str, fresh: bool = False) -> str | None:
        if fresh or time.monotonic() - self._read_at > REFERENCES_FOR:
            self._references = await self._store.references(PLATFORM)
            self._read_at = time.monotonic()
        return self._references.get(conversation)

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        try:
            reference = await self._reference(channel)
            if reference is None:
                reference = await self._reference(channel, fresh=True)
        except StoreError as exc:
            return Result("retry", f"cannot read Teams references ({type(exc).__name__})")
        if reference is None:
            return Result("gone", "no conversation reference: add the bot to that team or chat")
        outcome = await self._bot.post_to_reference(reference, [reply])
        if outcome == "posted":
            return Result("posted")
        if outcome == "gone":
            self._references.pop(channel, None)  # TeamsAdapter dropped it from the store
            return classify(403)
        if outcome == "refused":
            return Result("failed", "the saved reference's serviceUrl is not an allowed "
                          "Teams connector host (TOUCHPOINT_TEAMS_SERVICE_URLS); not posted")
        return Result("retry", "the Teams connector did not take the post")

    async def person(self, email: str) -> str | None:
        """The personal chat of the person with this e-mail (or user principal name), among
        the chats people opened with the bot. Teams names the person of a chat when asked;
        the answers are kept in this process, so each chat is asked about once. Only when
        Teams answered for none of the chats asked is that `Unavailable` (the connector is
        down): one chat Teams will not say anything about must not hold up every nudge."""
        try:
            references = await self._store.references(PLATFORM)
        except StoreError as exc:
            raise Unavailable(f"cannot read Teams references ({type(exc).__name__})") from None
        wanted = email.lower()
        answered = unanswered = 0
        for conversation, raw in references.items():
            if not _personal(raw):
                continue
            names = self._people.get(conversation)
            if names is None:
                found = await self._bot.person_in(raw)
                if found is None:
                    unanswered += 1
                    continue
                answered += 1
                names = self._people[conversation] = frozenset(found.values())
            if wanted in names:
                return conversation
        if unanswered and not answered and not self._people:
            raise Unavailable("Teams could not say who the personal chats are with")
        return None

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        """Teams keeps no tags we could look for: an attempt that died midway may post twice."""
        log.warning("teams: an earlier attempt to post %s in %s died midway; posting again, "
                    "which shows twice if that attempt had got through", mark, channel)
        return False


def _personal(reference: str) -> bool:
    try:
        parsed = json.loads(reference)
    except ValueError:
        return False
    conversation = parsed.get("conversation") if isinstance(parsed, dict) else None
    return isinstance(conversation, dict) and conversation.get("conversationType") == "personal"
