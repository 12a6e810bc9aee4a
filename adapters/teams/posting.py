"""Posting to Teams, apart from receiving: an answer in its turn and a post the bot starts.

Both end in the same bounded retry loop (`retry_after.retrying`, with
`teams_connector.classify`), and both need the conversation references saved as the bot
is added: a proactive post is sent to one, a 403 (the bot was removed) drops it. So the
references are kept here, and the adapter hands each turn's replies over to be sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient
from pydantic import ValidationError

from adapters.outbound import Result
from adapters.retry_after import RetryPolicy, retrying
from adapters.teams import activity as teams_activity
from adapters.teams import cards as teams_cards
from adapters.teams.config import PLATFORM
from adapters.teams.connector import ServiceUrlRefused, TokenUnavailable, failure
from bot.messages import Reply
from bot.store import Store, StoreError

log = logging.getLogger("touchpoint.teams")

Delivery = Literal["posted", "gone", "failed", "refused"]
"""How a post ended: taken; refused with 403, so the bot was removed there and the
conversation's reference is dropped; failed for any other reason (logged); or refused
here, never sent, because the reference's serviceUrl is not an allowed connector host."""

POST_RETRY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0)
"""429 and 5xx retried after 0.5, 1, 2 s or the Retry-After asked, never more than 10 s
at once, whatever it asks: Teams retries a slow turn."""


def quiet_sdk_logs() -> None:
    """The SDK logs every post at INFO and every failed one at ERROR; `_deliver` reports
    each outcome itself (a retried 429 is no error), so only the SDK's warnings are kept."""
    logging.getLogger("microsoft_agents").setLevel(logging.WARNING)
    logging.getLogger("microsoft_agents.hosting.core.connector").setLevel(logging.CRITICAL)


class Poster:
    """Sends replies through the SDK's connector, in a turn or continuing a saved one."""

    def __init__(self, adapter: CloudAdapter, app_id: str, store: Store,
                 allowed: Callable[[str], bool], retry: RetryPolicy) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._store = store
        self._allowed = allowed
        self._retry = retry

    async def post(self, conversation: str, replies: Sequence[Reply]) -> bool:
        """Post to a conversation the bot saw before: an answer that goes elsewhere than
        where it was asked (posts the bot starts itself go through `TeamsOutbound`).

        False when no reference is stored or the post failed; the reason is logged.
        """
        try:
            reference = (await self._store.references(PLATFORM)).get(conversation)
        except StoreError as exc:
            log.warning("cannot read Teams references (%s: %s)", type(exc).__name__, exc)
            return False
        if reference is None:
            log.warning("no Teams conversation reference for %s; was the bot added there?",
                        conversation)
            return False
        return await self.post_to_reference(reference, replies) == "posted"

    async def post_to_reference(self, reference: str, replies: Sequence[Reply]) -> Delivery:
        """Post replies to a saved reference (JSON) with `continue_conversation`.

        "posted" only when every reply was taken; "gone" when any was refused with 403;
        "refused" when the reference's serviceUrl is not allowed (nothing is sent).
        """
        try:
            parsed = ConversationReference.model_validate(json.loads(reference))
        except (ValueError, ValidationError) as exc:  # a damaged or foreign stored value
            log.error("unreadable Teams conversation reference (%s)", exc)
            return "failed"
        if not self._allowed(parsed.service_url or ""):
            log.error("a saved Teams reference for %s has serviceUrl %r, not an allowed "
                      "connector host: not posting there", parsed.conversation.id,
                      (parsed.service_url or "")[:200])
            return "refused"
        outcomes: set[Delivery] = set()

        async def logic(context: TurnContext) -> None:
            for reply in replies:
                target = context.activity.conversation.id
                outcomes.add(await self.send(context, reply, target, None))

        try:
            await self._adapter.continue_conversation(
                self._app_id, parsed.get_continuation_activity(), logic)
        except Exception:
            log.exception("proactive Teams post to %s failed", parsed.conversation.id)
            return "failed"
        if "gone" in outcomes:
            return "gone"
        return "failed" if "failed" in outcomes else "posted"

    async def person_in(self, reference: str) -> dict[str, str] | None:
        """The e-mail and user principal name Teams has for the person of a saved personal
        chat (lower case; empty when it has none), or None when Teams could not be asked."""
        try:
            parsed = ConversationReference.model_validate(json.loads(reference))
            user_id = parsed.user.id if parsed.user is not None else ""
        except (ValueError, ValidationError) as exc:  # a damaged or foreign stored value
            log.error("unreadable Teams conversation reference (%s)", exc)
            return {}
        if not user_id or not self._allowed(parsed.service_url or ""):
            log.error("a saved Teams reference for %s names no person or a serviceUrl that is "
                      "not an allowed connector host: not asking", parsed.conversation.id)
            return {}
        found: dict[str, str] = {}

        async def logic(context: TurnContext) -> None:
            connector = context.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
            if not isinstance(connector, TeamsConnectorClient):
                raise TypeError("no Teams connector for this turn")
            member = await connector.get_conversation_member(context.activity.conversation.id,
                                                             user_id)
            for key, value in (("email", member.email),
                               ("userPrincipalName", member.user_principal_name)):
                if isinstance(value, str) and value:
                    found[key] = value.lower()

        try:
            await self._adapter.continue_conversation(
                self._app_id, parsed.get_continuation_activity(), logic)
        except Exception as exc:  # the connector's failure: ask again later
            log.info("could not ask Teams who %s is (%s: %s)", user_id, type(exc).__name__, exc)
            return None
        return found

    async def send(self, context: TurnContext, reply: Reply, conversation: str,
                   reply_to: str | None, targeted: bool = False) -> Delivery:
        """One reply, as the bot, to the conversation (or the activity) of this turn."""
        incoming = context.activity
        activity = Activity.model_validate(teams_cards.render(reply))
        if incoming.recipient is not None:
            activity.from_property = incoming.recipient
        if incoming.from_property is not None:
            activity.recipient = incoming.from_property
        activity.channel_id = incoming.channel_id
        activity.service_url = incoming.service_url
        activity.conversation = ConversationAccount(id=conversation)
        if targeted and isinstance(incoming.from_property, ChannelAccount):
            activity.with_targeted_recipient(incoming.from_property)
        connector = context.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
        if connector is None:
            log.error("no Teams connector for this turn; reply to %s dropped", conversation)
            return "failed"
        if reply_to:
            activity.reply_to_id = reply_to

        async def call() -> None:
            if reply_to:
                await connector.conversations.reply_to_activity(conversation, reply_to, activity)
            else:
                await connector.conversations.send_to_conversation(conversation, activity)

        return await self._deliver(call, conversation)

    async def _deliver(self, call: Callable[[], Awaitable[Any]], conversation: str) -> Delivery:
        """One post with bounded retries: 429 and 5xx are retried, 403 means we were removed."""
        last: list[BaseException] = []

        async def attempt() -> Result:
            try:
                await call()
            except Exception as exc:  # aiohttp's ClientResponseError, ClientError, timeouts
                last[:] = [exc]
                return failure(exc)
            return Result("posted")

        def waiting(result: Result, number: int, delay: float) -> None:
            log.warning("Teams post to %s failed (%s); retry %d in %.1fs",
                        conversation, result.reason, number, delay)

        result = await retrying(attempt, self._retry, waiting=waiting)
        if result.outcome == "posted":
            return "posted"
        error = last[0]
        if isinstance(error, ServiceUrlRefused):
            return "refused"
        if isinstance(error, TokenUnavailable):
            log.error("Teams post to %s failed: the bot has no token (%s); check "
                      "MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId",
                      conversation, error)
            return "failed"
        if result.outcome == "gone":
            log.warning("Teams answered 403 for %s: the bot was removed there or may "
                        "not post; dropping its reference", conversation)
            await self.forget(teams_activity.root_of(conversation))
            return "gone"
        log.error("Teams post to %s failed for good (%s: %s)",
                  conversation, type(error).__name__, result.reason)
        return "failed"

    async def remember(self, raw: Mapping[str, Any]) -> None:
        """Save where this conversation is, for the scheduler and webhooks to post later."""
        reference = teams_activity.conversation_reference(raw)
        conversation = reference["conversation"]["id"]
        try:
            await self._store.save_reference(PLATFORM, conversation, json.dumps(reference))
        except StoreError as exc:  # answering matters more
            log.warning("could not save the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)

    async def forget(self, conversation: str) -> None:
        try:
            await self._store.drop_reference(PLATFORM, conversation)
        except StoreError as exc:
            log.warning("could not drop the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)
