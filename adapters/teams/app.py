"""Microsoft Teams through the Microsoft 365 Agents SDK: `POST /api/messages` on the one server.

The Agents SDK is used here, in `teams_posting` (sending, with the one bounded retry
loop) and in `teams_connector` (the bot's token, its connector clients). Requests are
checked by `teams_requests` (size, JSON, shape, who may call) before the SDK sees them,
their token by `teams_auth` with PyJWT (never blocking the event loop on Microsoft's key
endpoint), translated by `teams_activity` into the core's events, and the core's replies
are handed to `teams_posting` to be posted back.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiohttp import web
from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from pydantic import ValidationError

from adapters.outbound import Outbound
from adapters.platform import serve
from adapters.retry_after import RetryPolicy
from adapters.teams import activity as teams_activity
from adapters.teams import cards as teams_cards
from adapters.teams import extension as teams_extension
from adapters.teams.auth import Refused, SigningKeys, TokenValidator
from adapters.teams.config import PLATFORM, TeamsConfig
from adapters.teams.connector import BotToken, ConnectorFactory, service_url_check
from adapters.teams.outbound import TeamsOutbound
from adapters.teams.posting import POST_RETRY, Delivery, Poster, quiet_sdk_logs
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
from bot.store import Store

log = logging.getLogger("touchpoint.teams")

ROUTE = "/api/messages"


class TeamsAdapter:
    """Teams as a `Platform` of the server: receives activities, posts replies, posts
    proactively."""

    name: PlatformName = PLATFORM

    def __init__(self, handler: Handler, config: TeamsConfig,
                 retry: RetryPolicy | None = None) -> None:
        self._handler = handler
        self.config = config
        self.dev_mode = config.dev_mode
        """Unauthenticated, loopback-only: for the Agents Playground and tests."""
        self.tenants = allowed_tenants(config)
        self.service_url_allowed = service_url_check(config)
        self.keys = SigningKeys(config.openid_url)
        self._validator = TokenValidator(config.app_id, self.keys)
        self._token = None if self.dev_mode else BotToken(config)
        self._connectors = ConnectorFactory(self._token, self.service_url_allowed)
        self.adapter = CloudAdapter(channel_service_client_factory=self._connectors)
        self.adapter.on_turn_error = _turn_error
        self._poster = Poster(self.adapter, config.app_id, handler.store,
                              self.service_url_allowed, retry or POST_RETRY)
        quiet_sdk_logs()

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
        return await self._poster.post(conversation, replies)

    async def post_to_reference(self, reference: str, replies: Sequence[Reply]) -> Delivery:
        return await self._poster.post_to_reference(reference, replies)

    async def person_in(self, reference: str) -> dict[str, str] | None:
        return await self._poster.person_in(reference)

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
            await self._poster.forget(place.root)
            return
        if kind == "installationUpdate":
            if str(raw.get("action", "")).startswith("remove"):
                await self._poster.forget(place.root)
            else:
                await self._poster.remember(raw)
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
            await self._poster.remember(raw)
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
            return await self._poster.send(context, reply, place.root, None,
                                           targeted) == "posted"
        return await self._poster.send(context, reply, place.conversation,
                                       context.activity.id, targeted) == "posted"

    async def _invoke_response(self, context: TurnContext, response: InvokeResponse) -> None:
        await context.send_activity(Activity(type="invokeResponse", value=response))


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
