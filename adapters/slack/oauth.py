"""Installing Touchpoint in many Slack workspaces: bolt's OAuth flow, and who answers whom.

With a client id and secret, `GET /slack/install` sends a person to Slack to
approve the app, and `GET /slack/oauth_redirect` stores what Slack hands back
(the workspace's bot token, its bot user) in the installation store. Each
request from Slack is then answered with its own workspace's token, read from
that store: no `auth.test` per request, the bot user id came with the install.
`tokens_revoked` and `app_uninstalled` delete the workspace's tokens.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.installations import team_key
from adapters.slack.workspaces import ChannelTeams

log = logging.getLogger("touchpoint.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
SCOPES = ("app_mentions:read", "channels:history", "groups:history", "im:history",
          "channels:read", "groups:read", "chat:write", "commands", "users:read.email")
"""The bot scopes of the shipped manifest (slack/manifest.yaml)."""

Forget = Callable[[str], Awaitable[None]]
"""Told the key (`team_key`) of a workspace whose tokens were just deleted."""


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = SCOPES
    redirect_uri: str = ""
    """Empty: Slack uses the app's one Redirect URL."""
    state_expiration: int = 600
    """Seconds between opening /slack/install and coming back from Slack."""


@dataclass(frozen=True)
class Installs:
    """What the Slack adapter needs to serve every workspace it is installed in."""

    config: OAuthConfig
    installations: AsyncInstallationStore
    states: AsyncOAuthStateStore
    channels: ChannelTeams


def oauth_settings(config: OAuthConfig, installations: AsyncInstallationStore,
                   states: AsyncOAuthStateStore, installed: Forget) -> AsyncOAuthSettings:
    """bolt's settings; `installed` is told each workspace just installed (the success page
    is bolt's own)."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        done = args.installation
        key = team_key(done.enterprise_id, done.team_id, done.is_enterprise_install)
        log.info("slack: Touchpoint was installed in %s (%s)", key,
                 done.enterprise_name if done.is_enterprise_install else done.team_name)
        try:
            await installed(key)
        except Exception as exc:  # the install is stored; resuming paused prompts can wait
            log.warning("slack: could not resume the prompts of %s (%s)", key, exc)
        return await args.default.success(args)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("slack: an install was refused (%s)", args.reason)
        return await args.default.failure(args)

    return AsyncOAuthSettings(
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(config.scopes),
        redirect_uri=config.redirect_uri or None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=config.state_expiration,
        logger=logging.getLogger("touchpoint.slack.bolt"),
    )


class OAuthClient(AsyncWebClient):
    """The app's client for bolt's install flow: slack_sdk sends the app's credentials through
    aiohttp's deprecated `BasicAuth`; here the same header is built without it."""

    async def oauth_v2_access(self, *, client_id: str, client_secret: str,
                              code: str | None = None, redirect_uri: str | None = None,
                              grant_type: str | None = None, refresh_token: str | None = None,
                              **kwargs: Any) -> AsyncSlackResponse:
        given = {"code": code, "redirect_uri": redirect_uri, "grant_type": grant_type,
                 "refresh_token": refresh_token}
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        return await self.api_call(
            "oauth.v2.access", data={**kwargs, **{k: v for k, v in given.items() if v}},
            headers={"Authorization": f"Basic {basic}"})


class InstalledAuthorize(AsyncAuthorize):
    """The workspace's bot token and bot user, from its installation; None (bolt then
    asks the person to install the app) for a workspace Touchpoint is not installed in.

    An org-wide install answers for every workspace of the organisation.
    """

    def __init__(self, installations: AsyncInstallationStore) -> None:
        self.installations = installations

    async def __call__(self, *, context: AsyncBoltContext, enterprise_id: str | None,
                       team_id: str | None, user_id: str | None,
                       **actor: Any) -> AuthorizeResult | None:
        try:
            bot = await self.installations.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id,
                is_enterprise_install=context.is_enterprise_install)
        except Exception as exc:  # any store backend's failure: this request goes unanswered
            log.error("slack: cannot read the installation of %s (%s: %s)",
                      team_key(enterprise_id, team_id), type(exc).__name__, exc)
            return None
        if bot is None or not bot.bot_token:
            log.warning("slack: a request from %s, where Touchpoint is not installed",
                        team_key(enterprise_id, team_id, context.is_enterprise_install))
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id or bot.enterprise_id,
            team_id=team_id or bot.team_id,
            bot_token=bot.bot_token,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def routes(app: web.Application, flow: AsyncOAuthFlow) -> None:
    """`GET /slack/install` and `GET /slack/oauth_redirect`, answered by bolt's flow."""

    async def install(request: web.Request) -> web.Response:
        try:
            answer = await flow.handle_installation(_bolt(request))
        except Exception as exc:  # the state store is unreachable: say so, keep serving
            log.error("slack: cannot start an install (%s: %s)", type(exc).__name__, exc)
            return web.Response(status=503, text="Installing is not possible just now; "
                                                 "please try again in a minute.")
        return await to_aiohttp_response(answer)

    async def redirect(request: web.Request) -> web.Response:
        try:
            answer = await flow.handle_callback(_bolt(request))
        except Exception:  # the store or Slack failed mid-install: a page, not a crash
            log.exception("slack: an install could not be completed")
            return web.Response(status=500, text="The install failed; please try again.")
        return await to_aiohttp_response(answer)

    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, redirect)


def _bolt(request: web.Request) -> AsyncBoltRequest:
    return AsyncBoltRequest(body="", query=request.query_string,
                            headers=dict(request.headers.items()))


async def uninstalled(installations: AsyncInstallationStore, body: Mapping[str, Any],
                      forget: Forget) -> None:
    """`app_uninstalled`, or `tokens_revoked` naming bot tokens: every token of that workspace
    (or org, for an org-wide install) is deleted and `forget` told; user tokens revoked alone
    only delete those people's installations."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return
    enterprise_id = _text(body, "enterprise_id") or None
    team_id = _text(body, "team_id") or None
    org = _org_wide(body)
    if event.get("type") == "tokens_revoked":
        tokens = event.get("tokens")
        revoked = tokens if isinstance(tokens, Mapping) else {}
        users = revoked.get("oauth")
        if not revoked.get("bot"):
            for user in users if isinstance(users, Sequence) else ():
                if isinstance(user, str):
                    await installations.async_delete_installation(
                        enterprise_id=enterprise_id, team_id=None if org else team_id,
                        user_id=user)
            return
    key = team_key(enterprise_id, team_id, org)
    await installations.async_delete_all(enterprise_id=enterprise_id,
                                         team_id=None if org else team_id)
    log.warning("slack: Touchpoint was uninstalled from %s (%s); its tokens are deleted and "
                "its daily prompts paused", key, event.get("type"))
    await forget(key)


def _org_wide(body: Mapping[str, Any]) -> bool:
    if body.get("is_enterprise_install") is True:
        return True
    found = body.get("authorizations")
    first = found[0] if isinstance(found, list) and found else None
    return isinstance(first, Mapping) and first.get("is_enterprise_install") is True


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""
