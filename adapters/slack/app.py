"""Touchpoint on Slack: slack-bolt's AsyncApp in front of the core.

The edge (`adapters/slack/edge.py`) checks signatures on the raw bytes; bolt
answers `url_verification` and routes payloads. This module acknowledges at
once, hands the translated event to the core in a background task and posts
each `Reply` through the Web API, so Slack's three-second deadline never
depends on matching or on Slack's own API.
Nothing Slack or a user sends can stop the process: every failure is logged
with what to do about it, and the next request is served as usual.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.bodies import MAX_BODY, read_body
from adapters.outbound import Outbound
from adapters.platform import serve
from adapters.slack import delivery as slack_delivery
from adapters.slack import feedback as slack_feedback
from adapters.slack import oauth as slack_oauth
from adapters.slack import workspaces as slack_workspaces
from adapters.slack.blocks import Post, plan
from adapters.slack.config import PLATFORM, SlackConfig
from adapters.slack.edge import signed_by_slack, to_bolt_request
from adapters.slack.home import SHORTCUT_ID, from_home, from_shortcut, home_opened_user, show_home
from adapters.slack.identity import Identity, sign_in
from adapters.slack.installations import team_key
from adapters.slack.oauth import Installs
from adapters.slack.outbound import SlackOutbound
from adapters.slack.payloads import (
    ACTION_PREFIX,
    BadBody,
    Incoming,
    from_action,
    from_command,
    from_event,
)
from adapters.slack.socket import connect as connect_socket
from adapters.slack.team_outbound import TeamOutbound
from adapters.slack.web import (
    API_TIMEOUT,
    web_client,
)
from adapters.tasks import TaskSet
from bot.handler import Handler
from bot.messages import Platform as PlatformName
from bot.messages import Reply
from bot.store import Store

log = logging.getLogger("touchpoint.slack")

EVENTS_PATH = "/slack/events"
DRAIN_TIMEOUT = 10.0
"""Seconds shutdown waits for answers already being worked on."""
IDENTIFY_INTERVAL = 30.0
"""Least seconds between two `auth.test` attempts while the bot's identity is unknown."""
MAX_PENDING = 2000
"""Answers in progress beyond which channel messages are not considered for a nudge."""


class _ExpectedClient(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN in the environment goes unused next to a client: intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


logging.getLogger("touchpoint.slack.bolt").addFilter(_ExpectedClient())

SORRY = Reply(text="Sorry, something went wrong on my side. Please try again in a minute.",
              ephemeral=True)


@dataclass(frozen=True)
class Workspace:
    """The workspace a request came from: a client with its bot token, the bot's user there,
    and, when Touchpoint serves many workspaces, its key (`team_key`)."""

    client: AsyncWebClient
    bot_user: str
    team: str = ""


class SlackAdapter:
    """One Slack workspace's connection (or many installs') as a `Platform` of the server:
    the bolt app, the Web API client, open tasks."""

    name: PlatformName = PLATFORM

    def __init__(self, handler: Handler, config: SlackConfig, *, http: bool = True,
                 socket_mode: bool | None = None, installs: Installs | None = None) -> None:
        self.handler = handler
        self.config = config
        self.http = http
        self.socket_mode = bool(config.app_token) if socket_mode is None else socket_mode
        self.identity = Identity()
        self.problem = ""
        """Why `/healthz` should say Slack is degraded; empty when it is fine."""
        self.client = web_client(config.bot_token, config.api_url)
        """The process's one Slack client: bolt's, Socket Mode's, and the scheduled posts'."""
        self.installs = installs

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self._authorize(enterprise_id, team_id)

        self.app = AsyncApp(
            name="touchpoint",
            logger=logging.getLogger("touchpoint.slack.bolt"),
            # `receive` has checked the signature on the raw body before bolt sees it.
            request_verification_enabled=False,
            client=self.client if installs is None else slack_oauth.OAuthClient(
                base_url=config.api_url),
            process_before_response=True,
            **({"authorize": authorize} if installs is None else self._installed(installs)),
        )
        self._verifier = (SignatureVerifier(config.signing_secret)
                          if config.signing_secret.strip() else None)
        if http and self._verifier is None:
            raise ValueError("POST /slack/events needs SLACK_SIGNING_SECRET to verify requests")
        self._tasks = TaskSet()
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._identify_task: asyncio.Task[None] | None = None
        self._socket_task: asyncio.Task[None] | None = None
        self._last_identify = float("-inf")
        self.max_pending = MAX_PENDING
        self.skipped = 0
        self._register()

    def _register(self) -> None:
        """Bolt tries listeners in order, so the busiest (channel messages) goes first."""
        app = self.app
        app.event("message")(self._on_event)
        app.event("app_mention")(self._on_event)
        app.event("member_joined_channel")(self._on_event)
        app.event("app_home_opened")(self._on_home_opened)
        if self.installs is not None:
            app.event("tokens_revoked")(self._on_uninstalled)
            app.event("app_uninstalled")(self._on_uninstalled)
        app.shortcut(SHORTCUT_ID)(self._on_shortcut)
        app.event(re.compile(r".*"))(self._on_other_event)
        app.command(re.compile(r".*"))(self._on_command)
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        app.action(re.compile(r".*"))(self._on_foreign_action)
        app.view(slack_feedback.CALLBACK_ID)(self._on_view)
        app.error(self._on_bolt_error)

    async def _on_bolt_error(self, error: Exception) -> BoltResponse:
        """bolt failed on a signed request: its matchers expect shapes a sender can break
        (our own listeners only acknowledge and hand over). Refused, not a server error."""
        log.warning("slack: a signed request that bolt cannot handle (%s: %s)",
                    type(error).__name__, error)
        return BoltResponse(status=400, body={"error": "malformed request"})

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))
        self.client.session = self._session
        if self.installs is None:
            self._identify_task = self._spawn_task(self.identify())
        modes = [f"Events API on POST {EVENTS_PATH}"] if self.http else []
        if self.socket_mode:
            self._socket = AsyncSocketModeHandler(self.app, self.config.app_token,
                                                  web_client=self.client)
            self._socket_task = self._spawn_task(connect_socket(
                self._socket, self.client, self.config.app_token, self.config.api_url,
                IDENTIFY_INTERVAL))
            modes.append("Socket Mode")
        log.info("slack: on (%s), Web API at %s", ", ".join(modes) or "no transport",
                 self.config.api_url)

    async def stop(self) -> None:
        """Finish the answers already taken, then let go of every connection."""
        for chore in (self._identify_task, self._socket_task):
            if chore is not None:
                chore.cancel()
        if self._socket is not None:
            try:
                await self._socket.close_async()  # type: ignore[no-untyped-call]
            except Exception as exc:  # closing a half-open websocket may fail in many ways
                log.debug("slack: closing Socket Mode: %s", exc)
        await self.drain(DRAIN_TIMEOUT)
        await self._tasks.cancel()
        if self._session is not None:
            await self._session.close()

    def attach(self, app: web.Application) -> None:
        if self.http:
            app.router.add_post(EVENTS_PATH, self.receive)
        if self.installs is not None and self.app.oauth_flow is not None:
            slack_oauth.routes(app, self.app.oauth_flow)
        app[SLACK_KEY] = self

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        await self.start()
        yield
        await self.stop()

    def outbound(self, store: Store) -> Outbound:
        """Over the adapter's own client; with installs, each workspace's with its token."""
        if self.installs is not None:
            return TeamOutbound(self.installs.installations, self.installs.channels,
                                self.config.api_url, timeout=self.config.post_timeout)
        return SlackOutbound(self.client, timeout=self.config.post_timeout)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait until every answer taken so far has been posted (or has failed)."""
        await self._tasks.drain(timeout)

    async def health(self) -> str:
        if self.problem:
            return self.problem
        if self._socket is not None and not await self._socket.client.is_connected():
            return "socket mode not connected"
        return "ok"

    async def receive(self, request: web.Request) -> web.Response:
        """`POST /slack/events`: verified, handed to bolt, acknowledged; work continues after.

        The signature is checked on the raw bytes before bolt parses anything, so
        a forged request, however malformed, is a plain 401 and never reaches a parser.
        """
        body = await read_body(request, MAX_BODY)
        if body is None:
            return web.json_response({"error": f"the body is larger than {MAX_BODY} bytes"},
                                     status=413)
        if not signed_by_slack(self._verifier, body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = to_bolt_request(body, request.content_type, request.headers,
                                           request.query_string)
        except BadBody as exc:
            log.warning("slack: a signed request that cannot be read (%s)", exc)
            return web.json_response({"error": "malformed request"}, status=400)
        if bolt_request.body.get("type") == "app_rate_limited":
            log.warning("slack: Slack is dropping this app's events from workspace %s (more "
                        "than 30,000 in an hour); some messages will get no answer",
                        bolt_request.body.get("team_id"))
            return web.Response(status=200)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def identify(self) -> None:
        """Learn the bot's own ids, so its echoes and mentions are recognised."""
        self._last_identify = time.monotonic()
        found = await sign_in(self.client, self.config.api_url)
        if isinstance(found, str):
            self.problem = found
            return
        self.identity, self.problem = found, ""

    def _authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The token is static; answering from memory keeps `auth.test` out of every ack."""
        if (not self.identity.user_id
                and (self._identify_task is None or self._identify_task.done())
                and time.monotonic() - self._last_identify >= IDENTIFY_INTERVAL):
            self._identify_task = self._spawn_task(self.identify())
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or self.identity.team_id or None,
            bot_token=self.config.bot_token,
            bot_user_id=self.identity.user_id or None,
            bot_id=self.identity.bot_id or None,
        )

    def _installed(self, installs: Installs) -> dict[str, Any]:
        """bolt's arguments for many workspaces: their tokens from the installation store."""
        settings = slack_oauth.oauth_settings(installs.config, installs.installations,
                                              installs.states, self._resume)
        return {"authorize": slack_oauth.InstalledAuthorize(installs.installations),
                "oauth_settings": settings}

    def _workspace(self, context: AsyncBoltContext) -> Workspace:
        if self.installs is None:
            return Workspace(self.client, self.identity.user_id)
        client = web_client(context.bot_token or "", self.config.api_url)
        client.session = self._session
        return Workspace(client, context.bot_user_id or "",
                         team_key(context.enterprise_id, context.team_id,
                                  context.is_enterprise_install and not context.team_id))

    async def _on_uninstalled(self, body: Mapping[str, Any]) -> None:
        assert self.installs is not None
        await slack_oauth.uninstalled(self.installs.installations, body, self._pause)

    async def _pause(self, team: str) -> None:
        assert self.installs is not None
        paused = await slack_workspaces.pause(self.handler.store, self.installs.channels, team)
        log.info("slack: %d subscribed channel(s) of %s paused", paused, team)

    async def _resume(self, team: str) -> None:
        assert self.installs is not None
        resumed = await slack_workspaces.resume(self.handler.store, self.installs.channels, team)
        if resumed:
            log.info("slack: %d paused channel(s) of %s resumed", resumed, team)

    async def _on_command(self, ack: AsyncAck, body: Mapping[str, Any],
                          context: AsyncBoltContext) -> None:
        await ack()
        self._take(from_command(body), self._workspace(context))

    async def _on_action(self, ack: AsyncAck, body: Mapping[str, Any],
                         context: AsyncBoltContext) -> None:
        await ack()
        if from_home(body):
            self._spawn_task(self._answer_home(body, self._workspace(context)))
            return
        self._take(from_action(body), self._workspace(context))

    async def _on_shortcut(self, ack: AsyncAck, body: Mapping[str, Any],
                           context: AsyncBoltContext) -> None:
        await ack()
        workspace = self._workspace(context)
        self._take(from_shortcut(body, workspace.bot_user), workspace)

    async def _on_home_opened(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        user = home_opened_user(body)
        if user:
            self._spawn_task(self._publish_home(user, self._workspace(context)))

    async def _answer_home(self, body: Mapping[str, Any], workspace: Workspace) -> None:
        """A Home tab button: answered in the person's chat with the bot, then the tab is
        published again, so a switch shows its new state."""
        incoming = from_action(body)
        if incoming is not None:
            await self._answer(incoming, workspace)
            await self._publish_home(incoming.message.user, workspace)

    async def _publish_home(self, user: str, workspace: Workspace) -> None:
        handler = self.handler
        await show_home(workspace.client, handler.store.for_team(workspace.team),
                        handler.playbooks.playbooks, handler.settings.admins, user,
                        handler.clock())

    async def _on_view(self, ack: AsyncAck, body: Mapping[str, Any],
                       context: AsyncBoltContext) -> None:
        """The "Not helpful" form submitted: the modal closes, the core keeps the answer."""
        await ack()
        self._take(slack_feedback.from_submission(body), self._workspace(context))

    async def _on_foreign_action(self, ack: AsyncAck, body: Mapping[str, Any]) -> None:
        """Buttons of other apps' messages, or from an older version: nothing to do."""
        await ack()
        log.debug("slack: ignoring a %s on a button that is not Touchpoint's", body.get("type"))

    async def _on_event(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        workspace = self._workspace(context)
        if workspace.bot_user:
            self._take(from_event(body, workspace.bot_user), workspace)
        else:
            self._spawn_task(self._answer_event(body, workspace))

    async def _answer_event(self, body: Mapping[str, Any], workspace: Workspace) -> None:
        """Before `auth.test` has answered, the bot cannot tell its own mention from others'."""
        if self._identify_task is not None and not self._identify_task.done():
            await asyncio.wait({self._identify_task}, timeout=API_TIMEOUT)
        if self.installs is None:
            workspace = Workspace(self.client, self.identity.user_id)
        incoming = from_event(body, workspace.bot_user)
        if incoming is not None:
            await self._answer(incoming, workspace)

    async def _on_other_event(self, body: Mapping[str, Any]) -> None:
        """An event the manifest did not ask for: acknowledge, so Slack does not retry it."""
        event = body.get("event")
        log.debug("slack: ignoring %s event",
                  event.get("type") if isinstance(event, Mapping) else "a malformed")

    def _take(self, incoming: Incoming | None, workspace: Workspace) -> None:
        """Start answering; under a flood, nudges give way so commands still get through."""
        if incoming is None:
            return
        if incoming.message.kind == "channel" and len(self._tasks) >= self.max_pending:
            self.skipped += 1
            if self.skipped == 1 or self.skipped % 1000 == 0:
                log.warning("slack: %d answers in progress; not nudging until they are done "
                            "(%d channel messages skipped so far)", len(self._tasks), self.skipped)
            return
        self._spawn_task(self._answer(incoming, workspace))

    def _spawn_task(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._tasks.spawn(work)

    async def _answer(self, incoming: Incoming, workspace: Workspace) -> None:
        msg = dataclasses.replace(incoming.message, team=workspace.team)
        if self.installs is not None:
            try:
                await self.installs.channels.remember(msg.channel, workspace.team)
            except Exception as exc:  # any store backend's failure: answering comes first
                log.warning("slack: cannot record the workspace of %s (%s)", msg.channel, exc)
        try:
            answers = await self.handler.handle(msg)
        except Exception:  # the core's bug must not become the user's stack trace
            log.exception("slack: failed to answer %s %s from %s in %s",
                          msg.kind, msg.id or "-", msg.user, msg.channel)
            answers = [SORRY] if msg.kind in ("command", "action") else []
        for reply in answers:
            try:
                if reply.form is not None:
                    await slack_feedback.open_form(
                        workspace.client, reply, incoming,
                        functools.partial(self.deliver, client=workspace.client))
                    continue
                await self.deliver(plan(reply, incoming), workspace.client)
            except Exception:  # deliver logs what it expects; this is for what it does not
                log.exception("slack: failed to post the answer to %s %s in %s",
                              msg.kind, msg.id or "-", msg.channel)

    async def deliver(self, post: Post, client: AsyncWebClient | None = None) -> bool:
        """Post one reply (with `client`, in its workspace); on failure log why and, where
        Slack allows, use `response_url`."""
        done = await slack_delivery.deliver(post, client or self.client, self._session,
                                            self.config.api_url, one_token=self.installs is None)
        if done.problem is not None:
            self.problem = done.problem
        return done.ok


SLACK_KEY: web.AppKey[SlackAdapter] = web.AppKey("slack", SlackAdapter)


def platform(handler: Handler, config: SlackConfig, *, installs: Installs | None = None,
             socket_mode_only: bool = False) -> SlackAdapter | None:
    """Slack when configured (a bot token, or installs), so a bare `touchpoint serve` still
    starts; None if not."""
    if not config.enabled and installs is None:
        log.info("slack: off (set SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)")
        return None
    http = bool(config.signing_secret) and not socket_mode_only
    if not http:
        log.info("slack: no %s route (%s)", EVENTS_PATH,
                 "--socket-mode" if socket_mode_only else "SLACK_SIGNING_SECRET not set")
    return SlackAdapter(handler, config, http=http, socket_mode=bool(config.app_token),
                        installs=installs)


def attach(app: web.Application, handler: Handler, config: SlackConfig, *, http: bool = True,
           socket_mode: bool | None = None, installs: Installs | None = None) -> SlackAdapter:
    """Put Slack on the server: the events route (and with `installs`, the install routes),
    `/healthz` part, start and stop."""
    adapter = SlackAdapter(handler, config, http=http, socket_mode=socket_mode,
                           installs=installs)
    serve(app, adapter)
    return adapter
