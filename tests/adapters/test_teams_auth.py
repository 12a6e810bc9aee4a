"""The signing-key cache: one fetch at a time, backed off when the endpoint fails, and the
token checks a channel's activity must pass (against the fake key endpoint on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from fakes.bot_framework_keys import KID, FakeBotFrameworkKeys

from adapters.teams.auth import Refused, SigningKeys, TokenValidator, parse_keys

APP_ID = "11111111-2222-3333-4444-555555555555"
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
ACTIVITY = {"channelId": "msteams", "serviceUrl": SERVICE_URL}


async def test_a_valid_token_gives_its_claims(bot_framework_keys: FakeBotFrameworkKeys) -> None:
    keys = SigningKeys(bot_framework_keys.openid_url)
    try:
        validator = TokenValidator(APP_ID, keys)
        claims = await validator.claims(
            f"Bearer {bot_framework_keys.token(APP_ID, SERVICE_URL)}", ACTIVITY)
        assert claims["aud"] == APP_ID and claims["serviceurl"] == SERVICE_URL
        with pytest.raises(Refused, match="not endorsed for channel 'webchat'"):
            await validator.claims(f"Bearer {bot_framework_keys.token(APP_ID, SERVICE_URL)}",
                                   {**ACTIVITY, "channelId": "webchat"})
        with pytest.raises(Refused, match="serviceurl"):
            await validator.claims(f"Bearer {bot_framework_keys.token(APP_ID, SERVICE_URL)}",
                                   {**ACTIVITY, "serviceUrl": "https://elsewhere.example/"})
        hs256 = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImZha2UtYm90LWZyYW1ld29yay1rZXkifQ.e30.c2ln"
        with pytest.raises(Refused, match="RS256"):
            await validator.claims(f"Bearer {hs256}", ACTIVITY)
    finally:
        await keys.close()
    assert bot_framework_keys.requests == ["/v1/.well-known/openidconfiguration",
                                           "/v1/.well-known/keys"]


async def test_failed_fetches_are_backed_off_not_repeated_per_request() -> None:
    asked: list[str] = []

    async def broken(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/{tail:.*}", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    keys = SigningKeys(f"http://127.0.0.1:{port}/v1/.well-known/openidconfiguration")
    try:
        results = await asyncio.gather(*(keys.get(f"kid-{n}") for n in range(50)))
        assert results == [None] * 50
        for n in range(50):  # within the backoff: no new fetch
            assert await keys.get(f"later-{n}") is None
        assert asked == ["/v1/.well-known/openidconfiguration"]
        assert keys.fetches == 1
    finally:
        await keys.close()
        await runner.cleanup()


async def test_a_request_waits_for_a_hanging_fetch_only_so_long(
        bot_framework_keys: FakeBotFrameworkKeys) -> None:
    bot_framework_keys.hang()
    keys = SigningKeys(bot_framework_keys.openid_url, wait=0.05)
    try:
        assert await keys.get(KID) is None
        assert await keys.get("another") is None
        assert keys.fetches == 1  # the first fetch is still under way: shared, not repeated
        bot_framework_keys.release()
        await asyncio.wait_for(asyncio.shield(keys._task), 30)  # type: ignore[arg-type]
        assert await keys.get(KID) is not None
    finally:
        await keys.close()


@pytest.mark.parametrize("document", [
    None, [], {"keys": "x"}, {"keys": [1, {"kty": "EC", "kid": "a"}]},
    {"keys": [{"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"}]},
    {"keys": [{"kty": "RSA", "kid": "a", "n": "!!", "e": "AQAB"}]},
    {"keys": [{"kty": "RSA", "kid": "a", "endorsements": "msteams"}]},
])
def test_malformed_key_documents_give_no_keys(document: Any) -> None:
    assert parse_keys(document) == {}
