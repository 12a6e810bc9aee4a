"""Bot Framework tokens on `POST /api/messages`, checked without a request ever waiting on
the network for longer than a few seconds, nor starting a fetch of its own.

The Agents SDK's `JwtTokenValidator` fetches the signing keys with PyJWT's `PyJWKClient`
(urllib, blocking) in the default thread pool behind one lock per URL, fetches again for
every key id it does not know, and always asks Microsoft's fixed URL. A flood of forged
tokens with made-up key ids would then queue on that lock in threads aiohttp also needs
for its DNS lookups. So the keys live here instead: one task at a time fetches them, with
a timeout; a failed fetch is retried only after a growing pause; an unknown key id asks
for a fetch at most once per `REFETCH_AFTER`, and a request waits for a fetch under way at
most `WAIT` seconds, while the event loop goes on serving everyone else.

The checks are those Bot Framework documents for a channel's token: RS256 with a key
from the Bot Framework's OpenID document, issuer, audience (the app id), lifetime, the
key endorsing the activity's channel, and the `serviceurl` claim matching the activity.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp
import jwt

log = logging.getLogger("touchpoint.teams")

ISSUER = "https://api.botframework.com"
LEEWAY = 300.0
"""Seconds of clock skew allowed on `exp` and `nbf`, as Bot Framework's own SDKs allow."""
FETCH_TIMEOUT = 10.0
"""Seconds one fetch of the OpenID document and its keys may take in all."""
WAIT = 5.0
"""Seconds a request waits for keys being fetched before it is refused (Teams retries)."""
REFETCH_AFTER = 300.0
"""Seconds after a fetch before an unknown key id may cause another (keys rotate rarely)."""
MAX_AGE = 24 * 3600.0
"""Seconds after which the keys are fetched again in the background, still used meanwhile."""
BACKOFF = (1.0, 300.0)
"""The pause after a first failed fetch, doubling after each further one up to the second."""
MAX_DOCUMENT_BYTES = 256 * 1024


class Refused(Exception):
    """Why a request's token is not accepted (logged, never shown to the caller)."""


@dataclass(frozen=True)
class SigningKey:
    key: Any
    """The public key, as PyJWT's `PyJWK.key` (a cryptography RSA key)."""
    endorsements: frozenset[str]
    """The channels this key may sign for (empty: the document named none)."""


def parse_keys(document: object) -> dict[str, SigningKey]:
    """The usable RSA keys in a JWKS document by key id; anything malformed is skipped."""
    found: dict[str, SigningKey] = {}
    keys = document.get("keys") if isinstance(document, dict) else None
    for entry in keys if isinstance(keys, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        kid = entry.get("kid")
        endorsements = entry.get("endorsements", [])
        if not isinstance(kid, str) or not isinstance(endorsements, list):
            continue
        try:
            key = jwt.PyJWK({k: v for k, v in entry.items() if k != "endorsements"},
                            algorithm="RS256").key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        found[kid] = SigningKey(key, frozenset(e for e in endorsements if isinstance(e, str)))
    return found


class SigningKeys:
    """The Bot Framework's signing keys, fetched by one task at a time and cached."""

    def __init__(self, openid_url: str, wait: float = WAIT) -> None:
        self.openid_url = openid_url
        self.wait = wait
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = float("-inf")
        self._next_try = float("-inf")
        self._failures = 0
        self._task: asyncio.Task[None] | None = None
        self.fetches = 0
        """Fetches started since this object was made (for logs and tests)."""

    @property
    def problem(self) -> str:
        """Why requests cannot be checked just now; empty while keys are at hand (or the
        first fetch has not ended)."""
        if self._failures and not self._keys:
            return "Bot Framework signing keys unavailable"
        return ""

    def start(self) -> None:
        """Fetch now in the background, so the first real request finds the keys."""
        self._ask()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def get(self, kid: str) -> SigningKey | None:
        """The key with this id, waiting at most `wait` seconds for a fetch under way."""
        now = time.monotonic()
        found = self._keys.get(kid)
        if found is not None:
            if now - self._loaded_at > MAX_AGE:
                self._ask()
            return found
        self._ask()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), self.wait)
            except TimeoutError:
                pass
        return self._keys.get(kid)

    def _ask(self) -> None:
        """Start a fetch unless one is running or the last one was too recent."""
        if self._task is not None and not self._task.done():
            return
        if time.monotonic() < self._next_try:
            return
        self.fetches += 1
        self._task = asyncio.get_running_loop().create_task(self._fetch())

    async def _fetch(self) -> None:
        try:
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                config = await _get_json(session, self.openid_url)
                jwks_url = config.get("jwks_uri") if isinstance(config, dict) else None
                if not isinstance(jwks_url, str) or not _same_origin(jwks_url, self.openid_url):
                    raise ValueError("the OpenID document names no jwks_uri on its own host")
                keys = parse_keys(await _get_json(session, jwks_url))
            if not keys:
                raise ValueError("the key document holds no usable RSA key")
        except Exception as exc:  # network, timeout, HTTP status, JSON: all the same here
            self._failures += 1
            pause = min(BACKOFF[1], BACKOFF[0] * 2 ** (self._failures - 1))
            self._next_try = time.monotonic() + pause
            log.warning("could not fetch the Bot Framework signing keys from %s (%s: %s); "
                        "next try in %.0fs", self.openid_url, type(exc).__name__, exc, pause)
            return
        self._keys = keys
        self._failures = 0
        self._loaded_at = time.monotonic()
        self._next_try = self._loaded_at + REFETCH_AFTER
        log.info("fetched %d Bot Framework signing keys", len(keys))


async def _get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise ValueError(f"{url} answered {response.status}")
        body = await response.content.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
        return json.loads(body)


def _same_origin(url: str, other: str) -> bool:
    a, b = urlparse(url), urlparse(other)
    return a.scheme == b.scheme and a.netloc == b.netloc


class TokenValidator:
    """Checks the `Authorization` header of one activity; `Refused` says why not."""

    def __init__(self, app_id: str, keys: SigningKeys) -> None:
        self.app_id = app_id
        self.keys = keys

    async def claims(self, header: str, activity: Mapping[str, Any]) -> dict[str, Any]:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused("no bearer token")
        token = token.strip()
        try:
            unverified = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Refused(f"not a JWT ({type(exc).__name__})") from None
        kid = unverified.get("kid")
        if unverified.get("alg") != "RS256" or not isinstance(kid, str):
            raise Refused("not an RS256 token with a key id")
        key = await self.keys.get(kid)
        if key is None:
            raise Refused("signed with a key the Bot Framework does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self.app_id, issuer=ISSUER,
                leeway=LEEWAY, options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise Refused(f"{type(exc).__name__}: {exc}") from None
        channel = activity.get("channelId")
        if key.endorsements and channel not in key.endorsements:
            raise Refused(f"the signing key is not endorsed for channel {channel!r}")
        service_url = claims.get("serviceurl")
        if service_url is not None and service_url != activity.get("serviceUrl"):
            raise Refused("the token's serviceurl is not the activity's serviceUrl")
        return claims
