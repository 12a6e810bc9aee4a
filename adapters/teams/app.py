"""Microsoft Teams through the Microsoft 365 Agents SDK: `POST /api/messages` on the one server.

The Agents SDK is used here and in `teams_connector` (posting, the bot's token). Requests
are checked by `teams_requests` (size, JSON, shape, who may call) before the SDK sees
them, their token by `teams_auth` with PyJWT (never blocking the event loop on
Microsoft's key endpoint), translated by
`teams_activity` into the core's events, and the core's replies are posted back through
the SDK's connector client with the one bounded retry loop (`retry_after.retrying`, with
`teams_connector.classify`): 429 and 5xx are retried within limits, a 403 means the bot
was removed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from aiohttp import web
from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    InvokeResponse,
)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient
from pydantic import ValidationError

from adapters.outbound import Outbound, Result
from adapters.platform import serve
from adapters.retry_after import RetryPolicy, retrying
from adapters.teams import activity as teams_activity
from adapters.teams import cards as teams_cards
from adapters.teams import extension as teams_extension
from adapters.teams.auth import Refused, SigningKeys, TokenValidator
from adapters.teams.config import PLATFORM, TeamsConfig
from adapters.teams.connector import (
    BotToken,
    ConnectorFactory,
    ServiceUrlRefused,
    TokenUnavailable,
    failure,
    service_url_check,
)
from adapters.teams.outbound import TeamsOutbound
from adapters.teams.requests import (
    Refusal,
    allowed_tenants,
    dev_request_problem,
    read_activity,
    tenant_of,
)
from bot.handler import Handler
from bot.messages import Platform as PlatformName
from bot.messages import Reply
from bot.store import Store, StoreError

log = logging.getLogger("touchpoint.teams")

ROUTE = "/api/messages"

Delivery = Literal["posted", "gone", "failed", "refused"]
"""How a post ended: taken; refused with 403, so the bot was removed there and the
conversation's reference is dropped; failed for any other reason (logged); or refused
here, never sent, because the reference's serviceUrl is not an allowed connector host."""

POST_RETRY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0)
"""429 and 5xx retried after 0.5, 1, 2 s or the Retry-After asked, never more than 10 s
at once, whatever it asks: Teams retries a slow turn."""


def _quiet_sdk_logs() -> None:
    """The SDK logs every post at INFO and every failed one at ERROR; `_deliver` reports
    each outcome itself (a retried 429 is no error), so only the SDK's warnings are kept."""
    logging.getLogger("microsoft_agents").setLevel(logging.WARNING)
    logging.getLogger("microsoft_agents.hosting.core.connector").setLevel(logging.CRITICAL)


class TeamsAdapter:
    """Teams as a `Platform` of the server: receives activities, posts replies, posts
    proactively."""

    name: PlatformName = PLATFORM

    def __init__(self, handler: Handler, config: TeamsConfig,
                 retry: RetryPolicy | None = None) -> None:
        self._handler = handler
        self.config = config
        self._app_id = config.app_id
        self.dev_mode = config.dev_mode
        """Unauthenticated, loopback-only: for the Agents Playground and tests."""
        self._retry = retry or POST_RETRY
        self.tenants = allowed_tenants(config)
        self.service_url_allowed = service_url_check(config)
        self.keys = SigningKeys(config.openid_url)
        self._validator = TokenValidator(self._app_id, self.keys)
        self._token = None if self.dev_mode else BotToken(config)
        self._connectors = ConnectorFactory(self._token, self.service_url_allowed)
        self.adapter = CloudAdapter(channel_service_client_factory=self._connectors)
        self.adapter.on_turn_error = _turn_error
        _quiet_sdk_logs()

    async def close(self) -> None:
        await self.keys.close()
        await self._connectors.close()

    def attach(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.on_request)
        app[TEAMS_KEY] = self

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        if not self.dev_mode:
            self.keys.start()
        yield
        await self.close()

    async def health(self) -> str:
        """Degraded while the Bot Framework's signing keys (to check requests) or the bot's
        own token (to post) cannot be had."""
        if self.dev_mode:
            return "ok"
        if self.keys.problem:
            return self.keys.problem
        if self._token is not None and self._token.problem:
            return self._token.problem
        return "ok"

    def outbound(self, store: Store) -> Outbound:
        return TeamsOutbound(self, store)

    async def on_request(self, request: web.Request) -> web.Response:
        """`POST /api/messages`: 400 for anything malformed, 413 for a body over the limit,
        401 when unauthenticated, 403 from a tenant not allowed."""
        if self.dev_mode:
            problem = dev_request_problem(request.remote, request.headers)
            if problem is not None:
                log.warning("refused a Teams request from %s: %s", request.remote, problem)
                return web.Response(status=401, text=problem)
        raw = await read_activity(request)
        if isinstance(raw, Refusal):
            log.info("rejected a malformed Teams request: %s", raw.reason)
            return web.Response(status=raw.status, text=raw.reason)
        if not self.service_url_allowed(raw["serviceUrl"]):
            log.warning("refused a Teams activity whose serviceUrl %r is not an allowed "
                        "connector host", raw["serviceUrl"][:200])
            return web.Response(status=401, text="unauthorized")
        try:
            activity = Activity.model_validate(raw)
        except ValidationError as exc:
            log.info("rejected a Teams activity the Agents SDK cannot read: %s",
                     exc.errors(include_url=False, include_input=False)[:3])
            return web.Response(status=400, text="the activity has wrongly typed fields")
        if self.dev_mode:
            # No token is looked at, so a stray one never makes anyone fetch keys.
            identity = ClaimsIdentity()
        else:
            try:
                claims = await self._validator.claims(
                    request.headers.get("Authorization", ""), raw)
            except Refused as exc:
                log.warning("refused an unauthenticated Teams request (%s)", exc)
                return web.Response(status=401, text="unauthorized")
            identity = ClaimsIdentity(claims, authentication_type="Bearer")
        if self.tenants and tenant_of(raw) not in self.tenants:
            log.warning("refused a Teams activity from tenant %r: not in "
                        "TOUCHPOINT_TEAMS_TENANTS", tenant_of(raw)[:64])
            return web.Response(status=403, text="this tenant is not served here")
        try:
            invoke = await self.adapter.process_activity(
                identity, activity, lambda context: self._turn(context, raw))
        except Exception:  # the SDK's own setup (connector, token); the turn logs its own
            log.exception("Teams could not process %s activity %s", raw.get("type"),
                          raw.get("id"))
            return web.Response(status=500)
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(invoke.body, status=invoke.status)

    async def post(self, conversation: str, replies: Sequence[Reply]) -> bool:
        """Post to a conversation the bot saw before: an answer that goes elsewhere than
        where it was asked (posts the bot starts itself go through `TeamsOutbound`).

        False when no reference is stored or the post failed; the reason is logged.
        """
        try:
            reference = (await self._handler.store.references(PLATFORM)).get(conversation)
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
        if not self.service_url_allowed(parsed.service_url or ""):
            log.error("a saved Teams reference for %s has serviceUrl %r, not an allowed "
                      "connector host: not posting there", parsed.conversation.id,
                      (parsed.service_url or "")[:200])
            return "refused"
        outcomes: set[Delivery] = set()

        async def logic(context: TurnContext) -> None:
            for reply in replies:
                target = context.activity.conversation.id
                outcomes.add(await self._send(context, reply, target, None))

        try:
            await self.adapter.continue_conversation(
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
        if not user_id or not self.service_url_allowed(parsed.service_url or ""):
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
            await self.adapter.continue_conversation(
                self._app_id, parsed.get_continuation_activity(), logic)
        except Exception as exc:  # the connector's failure: ask again later
            log.info("could not ask Teams who %s is (%s: %s)", user_id, type(exc).__name__, exc)
            return None
        return found

    async def _turn(self, context: TurnContext, raw: dict[str, Any]) -> None:
        """One authenticated activity; errors are logged, never raised into the server."""
        try:
            await self._dispatch(context, raw)
        except Exception:
            log.exception("Teams %s activity %s failed", raw.get("type"), raw.get("id"))
            if raw.get("type") == "invoke":
                await self._invoke_response(context, InvokeResponse(status=500))

    async def _dispatch(self, context: TurnContext, raw: dict[str, Any]) -> None:
        kind = raw.get("type")
        place = teams_activity.where(raw)
        if kind == "conversationUpdate" and teams_activity.bot_removed(raw):
            await self._forget(place.root)
            return
        if kind == "installationUpdate":
            if str(raw.get("action", "")).startswith("remove"):
                await self._forget(place.root)
            else:
                await self._remember(raw)
            return
        if teams_extension.is_extension(raw):
            await self._extension(context, raw, place)
            return
        message = teams_activity.to_event(raw)
        if message is None:
            if kind == "invoke":
                await self._invoke_response(context, _not_ours(raw))
            return
        if message.kind in ("added", "direct", "mention", "command"):
            await self._remember(raw)
        replies = await self._handler.handle(message)
        if kind == "invoke":
            await self._answer_execute(context, replies, place)
            return
        for reply in replies:
            await self._post_reply(context, reply, place, message.kind == "added")

    async def _extension(self, context: TurnContext, raw: dict[str, Any],
                         place: teams_activity.Where) -> None:
        """The message action: the private answer is the dialog; a shared one is posted."""
        message = teams_extension.to_event(raw)
        if message is None:
            body = teams_extension.refusal()
        else:
            replies = await self._handler.handle(message)
            if place.kind == "personal":
                replies = [without_share(r) for r in replies]
            private = [r for r in replies if r.ephemeral]
            for reply in replies:
                if not reply.ephemeral:
                    await self._post_reply(context, reply, place, True)
            shared = len(private) < len(replies)
            body = teams_extension.task_response(
                private[0] if private else Reply(text="Shared in the conversation.")
                if shared else None)
        await self._invoke_response(context, InvokeResponse(status=200, body=body))

    async def _answer_execute(self, context: TurnContext, replies: list[Reply],
                              place: teams_activity.Where) -> None:
        """Action.Execute: a one-line answer shows under the card, anything bigger is posted."""
        text = replies[0].text if replies else ""
        shown = replies[:1] if replies and teams_cards.is_notice(replies[0]) else []
        for reply in replies[len(shown):]:
            await self._post_reply(context, reply, place, False)
        await self._invoke_response(context, InvokeResponse(
            status=200, body=teams_cards.execute_response(text)))

    async def _post_reply(self, context: TurnContext, reply: Reply,
                          place: teams_activity.Where, top_level: bool) -> bool:
        """Where a reply goes: the thread it answers, or the channel itself.

        A private answer (to `/touchpoint ...`) in a channel or group chat is a targeted
        message, which only the asker sees; in a 1:1 chat it is private anyway, and there
        is no channel to share it to, so its "Share in channel" button is left out.
        """
        if reply.channel and reply.channel != place.root:
            return await self.post(reply.channel, [reply])
        if place.kind == "personal":
            reply = without_share(reply)
        targeted = reply.ephemeral and place.kind != "personal"
        if place.thread and not reply.ephemeral and not reply.in_thread:
            top_level = True
        if top_level:
            return await self._send(context, reply, place.root, None, targeted) == "posted"
        return await self._send(context, reply, place.conversation,
                                context.activity.id, targeted) == "posted"

    async def _send(self, context: TurnContext, reply: Reply, conversation: str,
                    reply_to: str | None, targeted: bool = False) -> Delivery:
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
            await self._forget(teams_activity.root_of(conversation))
            return "gone"
        log.error("Teams post to %s failed for good (%s: %s)",
                  conversation, type(error).__name__, result.reason)
        return "failed"

    async def _invoke_response(self, context: TurnContext, response: InvokeResponse) -> None:
        await context.send_activity(Activity(type="invokeResponse", value=response))

    async def _remember(self, raw: Mapping[str, Any]) -> None:
        """Save where this conversation is, for the scheduler and webhooks to post later."""
        reference = teams_activity.conversation_reference(raw)
        conversation = reference["conversation"]["id"]
        try:
            await self._handler.store.save_reference(PLATFORM, conversation,
                                                     json.dumps(reference))
        except StoreError as exc:  # answering matters more
            log.warning("could not save the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)

    async def _forget(self, conversation: str) -> None:
        try:
            await self._handler.store.drop_reference(PLATFORM, conversation)
        except StoreError as exc:
            log.warning("could not drop the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)


def without_share(reply: Reply) -> Reply:
    """The reply without its "Share in channel" button, for a chat with no channel."""
    kept = tuple(b for b in reply.buttons if b.action != "share")
    return reply if len(kept) == len(reply.buttons) else dataclasses.replace(reply, buttons=kept)


async def _turn_error(context: TurnContext, error: Exception) -> None:
    """The SDK's default posts the exception's text into the chat; log it instead."""
    log.error("Teams turn failed (%s: %s)", type(error).__name__, error)


def _not_ours(raw: Mapping[str, Any]) -> InvokeResponse:
    """Invokes we don't handle: a card action from elsewhere gets a polite 200, the rest 501."""
    if raw.get("name") == "adaptiveCard/action":
        return InvokeResponse(status=200, body=teams_cards.execute_response(
            "That button is no longer supported."))
    return InvokeResponse(status=501)


TEAMS_KEY: web.AppKey[TeamsAdapter] = web.AppKey("teams", TeamsAdapter)


def platform(handler: Handler, config: TeamsConfig,
             retry: RetryPolicy | None = None) -> TeamsAdapter | None:
    """Teams when the environment configures it; None if not."""
    if not config.enabled:
        log.info("Teams is off: set MicrosoftAppId (or TOUCHPOINT_TEAMS_DEV=1 locally)")
        return None
    bot = TeamsAdapter(handler, config, retry)
    if bot.dev_mode:
        log.warning("!!! TOUCHPOINT_TEAMS_DEV=1: %s accepts UNAUTHENTICATED activities from "
                    "this machine. For local testing only; never expose this server. !!!",
                    ROUTE)
    else:
        log.info("Teams on %s for app %s (%s), through the Microsoft 365 Agents SDK; "
                 "tenants: %s", ROUTE, config.app_id, config.app_type,
                 ", ".join(bot.tenants) or "any (set TOUCHPOINT_TEAMS_TENANTS to limit them)")
    return bot


def attach(app: web.Application, handler: Handler, config: TeamsConfig,
           retry: RetryPolicy | None = None) -> TeamsAdapter | None:
    """Serve Teams on `app` when configured: its route, `/healthz` part, start and stop."""
    bot = platform(handler, config, retry)
    if bot is not None:
        serve(app, bot)
    return bot
