"""How the bot posts to Teams: its own token, and connector clients for allowed hosts only.

The Agents SDK's `RestChannelServiceClientFactory` gives each turn a new HTTP session
(a new TLS connection per reply), a user-token client we never use, and asks MSAL for
two tokens per turn; MSAL's client is built, with a blocking metadata fetch, on the
event loop. This factory keeps one connection pool, fetches the bot's token in a worker
thread (one fetch at a time, reused until near its expiry) and only when a request is
about to be sent (a turn that posts nothing needs none), and refuses to create a client
for, or send a request with the token to, any `serviceUrl` outside the allow-list.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import aiohttp
import jwt
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AuthTypes,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from adapters.outbound import Result
from adapters.retry_after import retry_after
from adapters.teams.config import TeamsConfig

log = logging.getLogger("touchpoint.teams")

RESOURCE = "https://api.botframework.com"
SCOPE = f"{RESOURCE}/.default"
TOKEN_TIMEOUT = 20.0
"""Seconds a post waits for the bot's token before it fails (the fetch itself goes on)."""
TOKEN_MARGIN = 300.0
"""Seconds before its expiry that a token is replaced."""
POST_TIMEOUT = 30.0
"""Seconds one request to the connector may take in all."""


class ServiceUrlRefused(Exception):
    """A serviceUrl outside the allow-list: nothing is sent there, least of all the token."""


class TokenUnavailable(Exception):
    """Microsoft Entra gave no token in time, or refused (wrong secret): the post is not
    retried at once, since the next post asks again anyway."""


def classify(status: int | None, headers: Mapping[str, object] | None = None, *,
             unreachable: bool = False) -> Result:
    """A failed connector request's outcome from its HTTP status (None: it has none) and
    headers (Retry-After). `unreachable`: no answer came at all (refused, reset, timed
    out), which is worth another try, unlike an error of ours without a status."""
    if status == 403:
        return Result("gone", "Teams answered 403: the bot was removed there")
    if status == 429 or (status is not None and status >= 500):
        return Result("retry", f"HTTP {status}", retry_after(headers))
    if status is None:
        return Result("retry", "no answer") if unreachable else Result("failed", "no status")
    return Result("failed", f"HTTP {status}")


def failure(exc: BaseException) -> Result:
    """`classify` for what posting raised: the SDK's HTTP errors carry `status` and
    `headers`; a refused host or a missing token is never tried again at once."""
    if isinstance(exc, ServiceUrlRefused):
        return Result("failed", "the serviceUrl is not an allowed Teams connector host")
    if isinstance(exc, TokenUnavailable):
        return Result("failed", f"the bot has no token ({exc})")
    status = getattr(exc, "status", None)
    headers = getattr(exc, "headers", None)
    return classify(status if isinstance(status, int) else None,
                    headers if isinstance(headers, Mapping) else None,
                    unreachable=isinstance(exc, aiohttp.ClientError | TimeoutError))


def is_loopback_url(url: str) -> bool:
    """An http(s) URL whose host is this machine (dev mode's only allowed serviceUrl)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or parsed.username or parsed.password:
        return False
    host = parsed.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_url_check(config: TeamsConfig) -> Callable[[str], bool]:
    """Which serviceUrls the bot may post to: loopback in dev mode, else the pattern."""
    if config.dev_mode:
        return is_loopback_url
    pattern = re.compile(config.service_urls, re.IGNORECASE)

    def allowed(url: str) -> bool:
        return bool(pattern.match(url)) and "@" not in (urlparse(url).netloc or "")

    return allowed


def auth_configuration(config: TeamsConfig) -> AgentAuthConfiguration:
    """The SDK's MSAL settings for the bot's Azure registration (the botbuilder variables)."""
    if config.app_type == "UserAssignedMSI":
        return AgentAuthConfiguration(auth_type=AuthTypes.user_managed_identity,
                                      client_id=config.app_id,
                                      tenant_id=config.tenant_id)
    tenant = config.tenant_id
    if config.app_type == "MultiTenant":
        tenant = "botframework.com"
    return AgentAuthConfiguration(auth_type=AuthTypes.client_secret,
                                  client_id=config.app_id, tenant_id=tenant,
                                  client_secret=config.app_password,
                                  scopes=[SCOPE])


class BotToken:
    """The bot's access token for the connector, fetched in a worker thread.

    MSAL is synchronous and builds its client (a metadata fetch) on first use, so the whole
    acquisition runs in one thread with a loop of its own; a post waits `TOKEN_TIMEOUT`
    at most, and only one fetch runs at a time however many posts want the token.
    """

    def __init__(self, config: TeamsConfig) -> None:
        self._msal = MsalAuth(auth_configuration(config))
        self._token = ""
        self._expires = 0.0
        self.problem = ""
        """Why the last fetch gave no token, for `/healthz`; empty once one is had."""
        self._task: asyncio.Future[tuple[str, float]] | None = None

    async def get(self) -> str:
        if self._token and time.time() < self._expires - TOKEN_MARGIN:
            return self._token
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(asyncio.to_thread(self._acquire))
        try:
            self._token, self._expires = await asyncio.wait_for(asyncio.shield(self._task),
                                                                TOKEN_TIMEOUT)
        except TimeoutError:
            self.problem = "no token from Microsoft Entra"
            raise TokenUnavailable(f"no token from Microsoft Entra within {TOKEN_TIMEOUT:g}s"
                                   ) from None
        except Exception as exc:  # MSAL's errors (ValueError for a refusal), network
            self.problem = f"no token from Microsoft Entra ({type(exc).__name__})"
            raise TokenUnavailable(f"{type(exc).__name__}: {exc}") from None
        self.problem = ""
        return self._token

    def _acquire(self) -> tuple[str, float]:
        token = asyncio.run(self._msal.get_access_token(RESOURCE, [SCOPE]))
        try:
            expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            expires = time.time() + 600.0  # not a JWT we can read: ask MSAL again soon
        return token, expires


class ConnectorFactory:
    """The Agents SDK's client factory, for `CloudAdapter`: see the module's docstring."""

    def __init__(self, token: BotToken | None, allowed: Callable[[str], bool]) -> None:
        self._token = token
        """None: dev mode, where posts carry no token at all."""
        self._allowed = allowed
        self._pool: aiohttp.TCPConnector | None = None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def create_connector_client(
            self, context: TurnContext | None, claims_identity: ClaimsIdentity,
            service_url: str, audience: str, scopes: list[str] | None = None,
            use_anonymous: bool = False) -> ConnectorClientBase:
        if not self._allowed(service_url):
            raise ServiceUrlRefused(service_url)
        if self._pool is None or self._pool.closed:
            self._pool = aiohttp.TCPConnector(limit=100)
        endpoint = service_url if service_url.endswith("/") else service_url + "/"
        session = aiohttp.ClientSession(
            base_url=endpoint, connector=self._pool, connector_owner=False,
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT), middlewares=(self._sign,))
        return TeamsConnectorClient(endpoint=endpoint, token="", session=session)

    async def _sign(self, request: aiohttp.ClientRequest,
                    handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        """Every request: to an allowed host only, and with the bot's token outside dev mode."""
        if not self._allowed(str(request.url)):
            raise ServiceUrlRefused(str(request.url))
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {await self._token.get()}"
        return await handler(request)

    async def create_user_token_client(
            self, context: TurnContext, claims_identity: ClaimsIdentity,
            use_anonymous: bool = False) -> Any:
        """Touchpoint signs no one in: a client without a token, which is never used."""
        return UserTokenClient(app_id=claims_identity.get_app_id() or "",
                               endpoint=RESOURCE, token="")
