"""Microsoft Teams through the Bot Framework: `POST /api/messages` on the one server.

All botbuilder code lives here. Requests are checked (size, JSON, shape) before
the SDK sees them, authenticated by the SDK, translated by `teams_cards` into
the core's `Message`, and the core's replies are posted back through the
connector with a bounded retry of our own: msrest's built-in retry is switched
off because it ignores 429 and can sleep without limit on a 503's Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from botbuilder.core import BotAdapter, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ConversationAccount, ConversationReference
from msrest.exceptions import ClientRequestError

from adapters import teams_cards
from adapters.bodies import read_body
from adapters.network import forwarded, is_loopback
from adapters.retry_after import retry_after
from bot.handler import Handler
from bot.messages import Reply
from touchpoint.settings import Settings

log = logging.getLogger("touchpoint.teams")

PLATFORM = "teams"
ROUTE = "/api/messages"
MAX_ACTIVITY_BYTES = 256 * 1024
"""Teams activities are a few kilobytes; anything this big is not one."""

Delivery = Literal["posted", "gone", "failed"]
"""How a post ended: taken; refused with 403, so the bot was removed there and the
conversation's reference is dropped; or failed for any other reason (logged)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one post to the connector before logging it as lost."""

    attempts: int = 4
    base_delay: float = 0.5
    """Seconds before the first retry of a 5xx or a failed connection; doubles each time."""
    max_delay: float = 10.0
    """The longest single wait, whatever a Retry-After asks: Teams retries a slow turn."""


class _Config:
    """The attribute names `ConfigurationBotFrameworkAuthentication` reads."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = settings.microsoft_app_password
        self.APP_TYPE = settings.microsoft_app_type
        self.APP_TENANTID = settings.microsoft_app_tenant_id


class _NoRetryConnectorFactory:
    """Connector clients that fail fast, so `TeamsBot._deliver` alone decides on retries."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        client = await self._inner.create(service_url, audience)
        client.config.retry_policy.retries = 0
        client.config.retry_policy.policy.status_forcelist = frozenset()
        return client


class _Authentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _NoRetryConnectorFactory(result.connector_factory)
        return result

    def create_connector_factory(self, claims_identity: Any) -> Any:
        return _NoRetryConnectorFactory(super().create_connector_factory(claims_identity))


def request_is_local(remote: str | None, headers: Mapping[str, str]) -> bool:
    """Dev mode's only protection: the peer is loopback and no proxy forwarded the request.

    A proxy on the same machine would make every caller look local, so any
    forwarding header means the request came from elsewhere.
    """
    return is_loopback(remote) and not forwarded(headers)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _headers(exc: BaseException) -> Mapping[str, str] | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers if isinstance(headers, Mapping) else None


class TeamsBot:
    """The Teams side of the server: receives activities, posts replies, posts proactively."""

    def __init__(self, handler: Handler, settings: Settings,
                 retry: RetryPolicy | None = None) -> None:
        self._handler = handler
        self._app_id = settings.microsoft_app_id
        self.dev_mode = settings.teams_dev and not settings.microsoft_app_id
        """Unauthenticated, loopback-only: for the Agents Playground and tests."""
        self._retry = retry or RetryPolicy()
        self.adapter = CloudAdapter(_Authentication(_Config(settings)))

    async def on_request(self, request: web.Request) -> web.Response:
        """`POST /api/messages`: 400 for anything malformed, 413 for a body over the limit,
        401 when unauthenticated."""
        if self.dev_mode and not request_is_local(request.remote, request.headers):
            log.warning("refused a Teams request from %s: dev mode only serves this machine",
                        request.remote)
            return web.Response(status=401, text="dev mode accepts local requests only")
        raw = await _read_activity(request)
        if isinstance(raw, Refusal):
            log.info("rejected a malformed Teams request: %s", raw.reason)
            return web.Response(status=raw.status, text=raw.reason)
        try:
            activity = Activity().deserialize(raw)
        except Exception as exc:  # msrest raises several types for a wrongly typed field
            log.info("rejected a Teams activity botbuilder cannot read: %s", exc)
            return web.Response(status=400, text="the activity has wrongly typed fields")
        # Dev mode has no app id, so the SDK would accept the request anyway; ignoring a
        # stray token also keeps it from fetching Microsoft's signing keys to check it.
        auth_header = "" if self.dev_mode else request.headers.get("Authorization", "")
        try:
            authenticated = await self.adapter.bot_framework_authentication \
                .authenticate_request(activity, auth_header)
        except Exception as exc:  # PermissionError, or a token the JWT library can't parse
            log.warning("refused an unauthenticated Teams request (%s)", type(exc).__name__)
            return web.Response(status=401, text="unauthorized")
        try:
            invoke: InvokeResponse | None = await self.adapter.process_activity(
                authenticated, activity, lambda context: self._turn(context, raw))
        except Exception:  # the SDK's own setup (connector, credentials); the turn logs its own
            log.exception("Teams could not process %s activity %s", raw.get("type"),
                          raw.get("id"))
            return web.Response(status=500)
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(invoke.body, status=invoke.status)

    async def post(self, conversation: str, replies: Sequence[Reply]) -> bool:
        """Post to a conversation the bot saw before (the scheduler's and webhooks' entry).

        False when no reference is stored or the post failed; the reason is logged.
        """
        try:
            reference = (await self._handler.store.references(PLATFORM)).get(conversation)
        except Exception as exc:  # any store backend's failure
            log.warning("cannot read Teams references (%s: %s)", type(exc).__name__, exc)
            return False
        if reference is None:
            log.warning("no Teams conversation reference for %s; was the bot added there?",
                        conversation)
            return False
        return await self.post_to_reference(reference, replies) == "posted"

    async def post_to_reference(self, reference: str, replies: Sequence[Reply]) -> Delivery:
        """Post replies to a saved reference (JSON) with `continue_conversation`.

        "posted" only when every reply was taken; "gone" when any was refused with 403.
        """
        try:
            parsed = ConversationReference().deserialize(json.loads(reference))
        except Exception as exc:  # a damaged or foreign stored value
            log.error("unreadable Teams conversation reference (%s)", exc)
            return "failed"
        outcomes: set[Delivery] = set()

        async def logic(context: TurnContext) -> None:
            try:
                for reply in replies:
                    target = context.activity.conversation.id
                    outcomes.add(await self._send(context, reply, target, None))
            finally:
                await _close_connector(context)

        try:
            await self.adapter.continue_conversation(parsed, logic, self._app_id)
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
            parsed = ConversationReference().deserialize(json.loads(reference))
            user_id = parsed.user.id
        except Exception as exc:  # a damaged or foreign stored value
            log.error("unreadable Teams conversation reference (%s)", exc)
            return {}
        found: dict[str, str] = {}

        async def logic(context: TurnContext) -> None:
            try:
                context.activity.channel_data = context.activity.channel_data or {}  # no team
                member = await TeamsInfo.get_member(context, user_id)
                for key, value in (("email", member.email),
                                   ("userPrincipalName", member.user_principal_name)):
                    if isinstance(value, str) and value:
                        found[key] = value.lower()
            finally:
                await _close_connector(context)

        try:
            await self.adapter.continue_conversation(parsed, logic, self._app_id)
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
                await context.send_activity(Activity(type="invokeResponse",
                                                     value=InvokeResponse(status=500)))
        finally:
            await _close_connector(context)

    async def _dispatch(self, context: TurnContext, raw: dict[str, Any]) -> None:
        kind = raw.get("type")
        place = teams_cards.where(raw)
        if kind == "conversationUpdate" and teams_cards.bot_removed(raw):
            await self._forget(place.root)
            return
        if kind == "installationUpdate":
            if str(raw.get("action", "")).startswith("remove"):
                await self._forget(place.root)
            else:
                await self._remember(raw)
            return
        message = teams_cards.to_message(raw)
        if message is None:
            if kind == "invoke":
                await self._invoke_response(context, _not_ours(raw))
            return
        if message.kind in ("added", "direct", "mention"):
            await self._remember(raw)
        replies = await self._handler.handle(message)
        if kind == "invoke":
            await self._answer_execute(context, replies, place)
            return
        for reply in replies:
            await self._post_reply(context, reply, place, message.kind == "added")

    async def _answer_execute(self, context: TurnContext, replies: list[Reply],
                              place: teams_cards.Where) -> None:
        """Action.Execute: a one-line answer shows under the card, anything bigger is posted."""
        text = replies[0].text if replies else ""
        shown = replies[:1] if replies and teams_cards.is_notice(replies[0]) else []
        for reply in replies[len(shown):]:
            await self._post_reply(context, reply, place, False)
        await self._invoke_response(context, InvokeResponse(
            status=200, body=teams_cards.execute_response(text)))

    async def _post_reply(self, context: TurnContext, reply: Reply,
                          place: teams_cards.Where, top_level: bool) -> bool:
        """Where a reply goes: the thread it answers, or the channel itself.

        Teams has no ephemeral messages, so a private answer goes where the
        question was asked (in a 1:1 chat that is private anyway).
        """
        if reply.channel and reply.channel != place.root:
            return await self.post(reply.channel, [reply])
        if place.thread and not reply.ephemeral and not reply.in_thread:
            top_level = True
        if top_level:
            return await self._send(context, reply, place.root, None) == "posted"
        return await self._send(context, reply, place.conversation,
                                context.activity.id) == "posted"

    async def _send(self, context: TurnContext, reply: Reply, conversation: str,
                    reply_to: str | None) -> Delivery:
        incoming = context.activity
        activity = Activity().deserialize(teams_cards.render(reply))
        activity.from_property = incoming.recipient
        activity.recipient = incoming.from_property
        activity.channel_id = incoming.channel_id
        activity.service_url = incoming.service_url
        activity.conversation = ConversationAccount(id=conversation)
        connector = context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
        if connector is None:
            log.error("no Teams connector for this turn; reply to %s dropped", conversation)
            return "failed"
        activity.reply_to_id = reply_to

        async def call() -> None:
            if reply_to:
                await connector.conversations.reply_to_activity(conversation, reply_to, activity)
            else:
                await connector.conversations.send_to_conversation(conversation, activity)

        return await self._deliver(call, conversation)

    async def _deliver(self, call: Callable[[], Awaitable[Any]], conversation: str) -> Delivery:
        """One post with bounded retries: 429 and 5xx are retried, 403 means we were removed."""
        policy = self._retry
        for attempt in range(1, policy.attempts + 1):
            try:
                await call()
                return "posted"
            except Exception as exc:  # msrest's HttpOperationError family and ClientRequestError
                status = _status(exc)
                if status == 403:
                    log.warning("Teams answered 403 for %s: the bot was removed there or may "
                                "not post; dropping its reference", conversation)
                    await self._forget(teams_cards.root_of(conversation))
                    return "gone"
                retryable = status == 429 or (status is not None and status >= 500) or (
                    status is None and isinstance(exc, ClientRequestError))
                if not retryable or attempt == policy.attempts:
                    log.error("Teams post to %s failed for good (%s, status %s, attempt %d)",
                              conversation, type(exc).__name__, status, attempt)
                    return "failed"
                asked = retry_after(_headers(exc))
                delay = asked if asked is not None else policy.base_delay * 2 ** (attempt - 1)
                delay = min(delay, policy.max_delay)
                log.warning("Teams post to %s failed (status %s); retry %d in %.1fs",
                            conversation, status, attempt, delay)
                await asyncio.sleep(delay)
        return "failed"

    async def _invoke_response(self, context: TurnContext, response: InvokeResponse) -> None:
        await context.send_activity(Activity(type="invokeResponse", value=response))

    async def _remember(self, raw: Mapping[str, Any]) -> None:
        """Save where this conversation is, for the scheduler and webhooks to post later."""
        reference = teams_cards.conversation_reference(raw)
        conversation = reference["conversation"]["id"]
        try:
            await self._handler.store.save_reference(PLATFORM, conversation,
                                                     json.dumps(reference))
        except Exception as exc:  # any store backend's failure: answering matters more
            log.warning("could not save the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)

    async def _forget(self, conversation: str) -> None:
        try:
            await self._handler.store.drop_reference(PLATFORM, conversation)
        except Exception as exc:  # any store backend's failure
            log.warning("could not drop the Teams reference for %s (%s: %s)",
                        conversation, type(exc).__name__, exc)


def _not_ours(raw: Mapping[str, Any]) -> InvokeResponse:
    """Invokes we don't handle: a card action from elsewhere gets a polite 200, the rest 501."""
    if raw.get("name") == "adaptiveCard/action":
        return InvokeResponse(status=200, body=teams_cards.execute_response(
            "That button is no longer supported."))
    return InvokeResponse(status=501)


async def _close_connector(context: TurnContext) -> None:
    """Close the turn's HTTP session now rather than leave its socket to the garbage collector."""
    connector = context.turn_state.pop(BotAdapter.BOT_CONNECTOR_CLIENT_KEY, None)
    if connector is not None:
        await connector.__aexit__(None, None, None)


@dataclass(frozen=True)
class Refusal:
    """Why a request is no activity, and the status that says so."""

    status: int
    reason: str


async def _read_activity(request: web.Request) -> dict[str, Any] | Refusal:
    """The body as an activity, or why it isn't one; never reads more than the limit."""
    body = await read_body(request, MAX_ACTIVITY_BYTES)
    if body is None:
        return Refusal(413, f"the body is larger than {MAX_ACTIVITY_BYTES} bytes")
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        return Refusal(400, "the body is not JSON")
    problem = teams_cards.activity_problem(raw)
    if problem is not None:
        return Refusal(400, problem)
    assert isinstance(raw, dict)
    return raw


TEAMS_KEY: web.AppKey[TeamsBot] = web.AppKey("teams", TeamsBot)


def enabled(settings: Settings) -> bool:
    return bool(settings.microsoft_app_id) or settings.teams_dev


def attach(app: web.Application, handler: Handler, settings: Settings,
           retry: RetryPolicy | None = None) -> TeamsBot | None:
    """Serve Teams on `app` when the environment configures it; None (and no route) if not."""
    if not enabled(settings):
        log.info("Teams is off: set MicrosoftAppId (or TOUCHPOINT_TEAMS_DEV=1 locally)")
        return None
    bot = TeamsBot(handler, settings, retry)
    if bot.dev_mode:
        log.warning("!!! TOUCHPOINT_TEAMS_DEV=1: %s accepts UNAUTHENTICATED activities from "
                    "this machine. For local testing only; never expose this server. !!!",
                    ROUTE)
    else:
        log.info("Teams on %s for app %s (%s)", ROUTE, settings.microsoft_app_id,
                 settings.microsoft_app_type)
    app.router.add_post(ROUTE, bot.on_request)
    app[TEAMS_KEY] = bot
    return bot
