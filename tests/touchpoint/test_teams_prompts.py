"""The daily prompt on Teams: posted through a saved conversation reference, 403 flags it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

from fakes.teams_connector import FakeTeamsConnector

from adapters.teams import activity as teams_activity
from adapters.teams import app as teams
from adapters.teams.outbound import TeamsOutbound
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import Job, PromptSettings
from touchpoint.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
NOW = dt.datetime.now(dt.UTC)
FAST = PromptSettings(rate=500, channel_interval=0.01, lease=5, attempts=1)


def job(channel: str = CHANNEL) -> Job:
    return Job(Subscription("teams", channel, NOW.time(), "UTC", EVERY_DAY), NOW.date(), NOW)


class CountingStore(MemoryStore):
    """Counts the reads of every saved reference (a whole Redis hash in production)."""

    reads = 0

    async def references(self, platform: str) -> dict[str, str]:
        self.reads += 1
        return await super().references(platform)


@contextlib.asynccontextmanager
async def posting(library: PlaybookSet, connector: FakeTeamsConnector,
                  store: MemoryStore | None = None) -> AsyncIterator[PromptDelivery]:
    """A Teams bot in dev mode that has seen itself added to CHANNEL, as after a real install."""
    store = store or MemoryStore()
    bot = teams.TeamsAdapter(Handler(library, store), Settings(teams_dev=True).teams,
                         teams.RetryPolicy(attempts=2, base_delay=0.01))
    added = json.loads((FIXTURES / "conversation_update_bot_added.json").read_text())
    added["serviceUrl"] = connector.service_url
    reference = teams_activity.conversation_reference(added)
    await store.save_reference("teams", reference["conversation"]["id"], json.dumps(reference))
    outbound = TeamsOutbound(bot, store, owns_bot=True)
    try:
        yield PromptDelivery(store, {"teams": outbound}, lambda: library.playbooks, FAST)
    finally:
        await outbound.close()


async def test_the_prompt_is_a_card_in_the_channel(library: PlaybookSet,
                                                   teams_connector: FakeTeamsConnector) -> None:
    async with posting(library, teams_connector) as sender:
        assert await sender.post(job()) == "posted"
        assert await sender.post(job()) == "already"
        (post,) = teams_connector.posted
        assert post.conversation == CHANNEL and post.card is not None
        assert "How did you live it today?" in json.dumps(post.card)


async def test_a_removed_bot_flags_the_channel(library: PlaybookSet,
                                               teams_connector: FakeTeamsConnector) -> None:
    async with posting(library, teams_connector) as sender:
        teams_connector.fail_next(403)
        assert await sender.post(job()) == "gone"
        assert await sender.store.flagged("teams") == {CHANNEL: "Teams answered 403: the bot was "
                                                       "removed there"}
        assert await sender.post(job("19:never-added@thread.tacv2")) == "gone"
        assert teams_connector.posted == []


async def test_a_failed_post_is_retried_later_and_the_references_are_not_read_again(
        library: PlaybookSet, teams_connector: FakeTeamsConnector) -> None:
    store = CountingStore()
    async with posting(library, teams_connector, store) as sender:
        teams_connector.fail_next(503, times=2)  # every attempt the bot's RetryPolicy makes
        assert await sender.post(job()) == "retry"
        assert store.reads == 1
        assert await store.flagged("teams") == {}
        assert CHANNEL in await store.references("teams")
        assert teams_connector.posted == []
