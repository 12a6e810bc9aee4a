"""A fake of the Bot Framework's token signing keys: its OpenID document and JWKS.

A real aiohttp server on 127.0.0.1 serving `/v1/.well-known/openidconfiguration` and the
key set it names, with an RSA key made for the run, so tests can sign tokens as the Bot
Framework would (`token`). `hang()` makes every request wait until `release()`, as a
black-holed or overloaded key endpoint would.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"
KID = "fake-bot-framework-key"


class FakeBotFrameworkKeys:
    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests: list[str] = []
        self.hanging: set[str] = set()
        """Paths of requests being held right now."""
        self.endorsements = ["msteams", "emulator"]
        self._release = asyncio.Event()
        self._release.set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def openid_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/.well-known/openidconfiguration"

    def hang(self) -> None:
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def token(self, app_id: str, service_url: str, **changes: Any) -> str:
        """A token as the Bot Framework signs one for a channel's activity to `app_id`."""
        kid = changes.pop("kid", KID)
        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "aud": app_id, "serviceurl": service_url,
                                  "nbf": now - 60, "exp": now + 3600}
        claims.update(changes)
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, self.private_key,
                          algorithm="RS256", headers={"kid": kid})

    async def _held(self, request: web.Request) -> None:
        self.requests.append(request.path)
        self.hanging.add(request.path)
        try:
            await self._release.wait()
        finally:
            self.hanging.discard(request.path)

    async def _openid(self, request: web.Request) -> web.Response:
        await self._held(request)
        return web.json_response({
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com/v1/auth",
            "jwks_uri": f"http://127.0.0.1:{self.port}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    async def _keys(self, request: web.Request) -> web.Response:
        await self._held(request)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        public.update(kid=KID, use="sig", endorsements=self.endorsements)
        return web.json_response({"keys": [public]})
