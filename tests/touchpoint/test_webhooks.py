"""The call routes over real HTTP: Touchpoint's own (Standard Webhooks), Gong's and Zoom's.

Each documented payload (tests/fixtures/calls, see SOURCES.md) is signed here with a key
pair or secret made for the test, queued in a real Redis, and posted by the outbox worker
through the fake Slack API or the fake Teams connector.

"Nothing happened" is shown without waiting on a clock: after a refused request a good
one is sent, and once its post has arrived the refused one can be seen never to have posted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fakes.slack_api import Call, FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector
from serve_process import HANG_GUARD

from adapters.redis_store import RedisStore
from adapters.slack import app as slack
from adapters.teams import app as teams
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.store import Store
from touchpoint import call_signatures, metrics, signing, webhooks
from touchpoint.server import attach_calls, build_app, outbounds_of
from touchpoint.settings import Settings
from touchpoint.web import app as web_pages

MANAGER_TOKEN = "manager-token-0123456789abcdef"
"""`touchpoint serve` serves the manager page only with a token."""
SECRET = "whsec_" + base64.b64encode(b"call-hook-secret-for-tests-0123").decode()
ZOOM_SECRET = "zoom-secret-token-for-tests"
URL_KEY = "gong-url-key-for-tests-0123456789"
TOKEN = "xoxb-1111-2222-fakefakefake"
CHANNEL = "C0SALES01"
OWNER = "U0JANE0001"
TEAMS_CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
ROOT = Path(__file__).resolve().parents[1] / "fixtures"
UNHAPPY = "Call with Acme: the customer was furious about the outage and threatened to cancel"
HAPPY = ("Call with Acme: they love the new dashboard and said they would happily recommend "
         "us to a partner")
GONG_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_ids = itertools.count(1)


def gong_fixture() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "calls" / "gong_call.json").read_text())
    return loaded


def zoom_fixture(name: str = "zoom_meeting_ended.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "calls" / name).read_text())
    return loaded


def public_pem(key: rsa.RSAPrivateKey = GONG_KEY) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def gong_jwt(body: bytes, url: str, *, expires_in: float = 300, key: rsa.RSAPrivateKey = GONG_KEY,
             alg: str = "RS256", **claims: Any) -> str:
    """A token as Gong's rule signs it: RS256 over header.claims, with the documented claims."""
    header = _b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = {"webhook_url": url, "body_sha256": hashlib.sha256(body).hexdigest(),
               "exp": int(time.time() + expires_in), **claims}
    signed = f"{header}.{_b64url(json.dumps(payload).encode())}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}.{_b64url(signature)}"


def zoom_headers(body: bytes, *, secret: str = ZOOM_SECRET, at: float | None = None
                 ) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {"Content-Type": "application/json", "x-zm-request-timestamp": stamp,
            "x-zm-signature": call_signatures.zoom_signature(secret, stamp, body)}


@dataclass
class Hook:
    url: str
    http: aiohttp.ClientSession
    slack: FakeSlackAPI
    store: Store
    settings: Settings = field(default_factory=Settings)

    async def post(self, path: str, body: bytes, headers: dict[str, str]
                   ) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.url + path, data=body, headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer

    async def send(self, payload: Any, *, secret: str = SECRET, msg_id: str = "",
                   skew: float = 0.0, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        """POST /hooks/call-ended, signed as Standard Webhooks `skew` seconds off our clock."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        signed = call_signatures.webhook_headers(
            secret, body, msg_id or f"msg_{next(_ids)}", int(time.time() + skew))
        sent = {"Content-Type": content_type, **signed, **(headers or {})}
        return await self.post(webhooks.ROUTE, body, sent)

    async def gong(self, payload: Any, *, token: str | None = None,
                   path: str = webhooks.GONG_ROUTE) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        jwt = gong_jwt(body, "https://touchpoint.example.com" + path) if token is None else token
        return await self.post(path, body, {"Content-Type": "application/json",
                                            "Authorization": jwt})

    async def zoom(self, payload: Any, **signing_args: Any) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return await self.post(webhooks.ZOOM_ROUTE, body, zoom_headers(body, **signing_args))


def call(summary: str = UNHAPPY, **fields: Any) -> dict[str, Any]:
    return {"platform": "slack", "channel": CHANNEL, "customer": "Acme",
            "summary": summary, "owner": "U0OWNER01", **fields}


def text_of(post: Call) -> str:
    return "\n".join([post.body["text"]] + [b["text"]["text"] for b in post.body["blocks"]
                                            if "text" in b])


@asynccontextmanager
async def serving(library: PlaybookSet, slack_api: FakeSlackAPI, secret: str = SECRET,
                  teams_dev: bool = False, store: Store | None = None, legacy: bool = False,
                  folder: Path | None = None, **extra: Any) -> AsyncIterator[Hook]:
    """The server as `serve` assembles it for these routes."""
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret="s" * 32,
                        slack_api_url=slack_api.url, call_webhook_secret=secret,
                        teams_dev=teams_dev, webhook_legacy=legacy,
                        gong_public_key=public_pem(), zoom_secret=ZOOM_SECRET,
                        call_retry_max=0.2, admin_token=MANAGER_TOKEN, **extra)
    store = store or MemoryStore()
    registry = metrics.Metrics()
    handler = Handler(library, store, observer=registry)
    app = build_app(settings, handler)
    metrics.attach(app, registry)
    bot = teams.attach(app, handler, settings.teams, teams.RetryPolicy(attempts=2, base_delay=0.01))
    chat = [slack.SlackAdapter(handler, settings.slack, http=False), *filter(None, [bot])]
    outbounds = outbounds_of(app, chat, store)
    where = folder or Path(__file__).resolve().parents[2] / "playbooks"
    attach_calls(app, handler, store, outbounds, settings, lambda: where,
                 registry.call_nudges.inc)
    web_pages.attach(app, handler, settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Hook(f"http://127.0.0.1:{runner.addresses[0][1]}", http, slack_api, store,
                       settings)
    finally:
        await runner.cleanup()


@pytest.fixture
async def hook(library: PlaybookSet, slack_api: FakeSlackAPI) -> AsyncIterator[Hook]:
    async with serving(library, slack_api) as running:
        yield running


@pytest.fixture
async def redis_hook(library: PlaybookSet, slack_api: FakeSlackAPI, redis_url: str,
                     redis_prefix: str) -> AsyncIterator[Hook]:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    try:
        async with serving(library, slack_api, store=store) as running:
            yield running
    finally:
        await store.close()


# --- Touchpoint's own webhook: Standard Webhooks -------------------------------------------


async def test_an_unhappy_call_gets_the_checklist_and_the_recovery_steps(hook: Hook) -> None:
    status, answer = await hook.send(call(UNHAPPY))
    assert (status, answer) == (202, {"status": "accepted"})
    (post,) = await hook.slack.wait_for("chat.postMessage")
    text = text_of(post)
    assert post.body["channel"] == CHANNEL
    assert text.startswith("<@U0OWNER01> The call with Acme just ended.")
    assert "*After a customer call*" not in text and "*After the call*" in text
    assert "*Unhappy customer*" in text and "Listen first and let them finish" in text


async def test_a_happy_call_gets_the_referral_ask(hook: Hook) -> None:
    assert (await hook.send(call(HAPPY)))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    text = text_of(post)
    assert "*After the call*" in text and "*Happy customer*" in text
    assert "a referral to a peer" in text


async def test_an_owner_that_is_no_slack_id_is_named_not_mentioned(hook: Hook) -> None:
    assert (await hook.send(call(owner="<!channel> jane@example.com")))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    assert text_of(post).startswith("For &lt;!channel&gt; jane@example.com: The call")
    assert (await hook.send(call(summary=HAPPY, owner=None)))[0] == 202
    posts = await hook.slack.wait_for("chat.postMessage", 2)
    assert text_of(posts[1]).startswith("The call with Acme just ended.")


async def test_an_owner_given_by_e_mail_is_found_and_mentioned(hook: Hook) -> None:
    hook.slack.add_person("jane@touchpoint.example", OWNER)
    assert (await hook.send(call(HAPPY, owner="Jane@touchpoint.example")))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    assert post.body["channel"] == CHANNEL and text_of(post).startswith(f"<@{OWNER}> The call")
    (lookup,) = hook.slack.calls("users.lookupByEmail")
    assert lookup.body["email"] == "jane@touchpoint.example"


@pytest.mark.parametrize("change", [
    {"secret": "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()},
    {"headers": {"webhook-signature": "v1,"}},
    {"headers": {"webhook-signature": "v2," + "A" * 44}},
    {"headers": {"webhook-id": ""}},
    {"headers": {"webhook-timestamp": "yesterday"}},
    {"skew": -301},
    {"skew": 400},
    {"headers": {webhooks.HEADER: "sha256=" + "0" * 64, "webhook-signature": ""}},
])
async def test_bad_signatures_and_stale_timestamps_are_401_and_nothing_happens(
        hook: Hook, change: dict[str, Any]) -> None:
    status, answer = await hook.send(call(UNHAPPY), **change)
    assert (status, answer) == (401, {"error": "invalid signature"})
    assert (await hook.send(call(HAPPY)))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    assert "Happy customer" in text_of(post)
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_a_body_changed_after_signing_is_401(hook: Hook) -> None:
    body = json.dumps(call()).encode()
    headers = call_signatures.webhook_headers(SECRET, body, "msg_x", int(time.time()))
    tampered = body.replace(b"U0OWNER01", b"U0MALLORY")
    status, _ = await hook.post(webhooks.ROUTE, tampered,
                                {"Content-Type": "application/json", **headers})
    assert status == 401


async def test_one_of_several_signatures_may_match_during_a_secret_rotation(hook: Hook) -> None:
    body = json.dumps(call(HAPPY)).encode()
    good = call_signatures.webhook_headers(SECRET, body, "msg_rotate", int(time.time()))
    old = "v1," + base64.b64encode(b"x" * 32).decode()
    good["webhook-signature"] = f"{old} {good['webhook-signature']}"
    status, _ = await hook.post(webhooks.ROUTE, body, {"Content-Type": "application/json",
                                                       **good})
    assert status == 202


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/xml"])
async def test_a_wrong_content_type_is_400_and_nothing_happens(hook: Hook,
                                                              content_type: str) -> None:
    status, answer = await hook.send(call(UNHAPPY), content_type=content_type)
    assert status == 400 and "Content-Type" in answer["error"]
    assert (await hook.send(call(HAPPY)))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("payload, field, problem", [
    (b"not json", "", "the body is not JSON"),
    (b"[1, 2]", "", "the body must be a JSON object"),
    ({k: v for k, v in call().items() if k != "summary"}, "summary", "summary: is required"),
    (call(platform="email"), "platform", "platform: must be slack or teams"),
    (call(platform="teams"), "platform", "platform: teams is not enabled on this server"),
    (call(channel=42), "channel", "channel: must be a string"),
    (call(channel="#sales team"), "channel", "channel: must be a channel or conversation id"),
    (call(customer="  "), "customer", "customer: must not be empty"),
    (call(summary="x" * 4001), "summary", "summary: must be at most 4000 characters"),
    (call(owner=["U1"]), "owner", "owner: must be a string"),
])
async def test_a_bad_body_is_400_naming_the_field(hook: Hook, payload: Any, field: str,
                                                 problem: str) -> None:
    status, answer = await hook.send(payload)
    assert status == 400
    assert answer["error"].startswith(problem) and answer["field"] == field
    assert (await hook.send(call(HAPPY)))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_the_same_delivery_id_is_posted_once_even_after_it_was_posted(
        redis_hook: Hook) -> None:
    hook = redis_hook
    first = await hook.send(call(UNHAPPY), msg_id="msg_same")
    again = await hook.send(call(UNHAPPY), msg_id="msg_same")
    assert first == (202, {"status": "accepted"}) and again == (200, {"status": "duplicate"})
    await hook.slack.wait_for("chat.postMessage")
    assert await hook.send(call(UNHAPPY), msg_id="msg_same") == (200, {"status": "duplicate"})
    assert (await hook.send(call(HAPPY)))[0] == 202
    posts = await hook.slack.wait_for("chat.postMessage", 2)
    assert ["Unhappy customer" in text_of(p) for p in posts].count(True) == 1
    await emptied(hook.store)


async def test_a_replay_past_the_tolerance_is_401_even_with_a_known_id(redis_hook: Hook) -> None:
    hook = redis_hook
    assert (await hook.send(call(HAPPY), msg_id="msg_replayed"))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    status, _ = await hook.send(call(HAPPY), msg_id="msg_replayed", skew=-3600)
    assert status == 401
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_a_slack_5xx_delays_the_nudge_and_does_not_lose_it(redis_hook: Hook) -> None:
    hook = redis_hook
    hook.slack.server_error("chat.postMessage", times=2)
    assert (await hook.send(call()))[0] == 202
    first, second, third = await hook.slack.wait_for("chat.postMessage", 3)
    assert first.status == 500 and second.status == 500 and third.ok
    await emptied(hook.store)


async def test_too_big_a_body_is_refused(hook: Hook) -> None:
    status, _ = await hook.send(call(summary="x" * (webhooks.MAX_BODY + 10)))
    assert status == 413


async def test_without_a_secret_there_is_no_route(library: PlaybookSet,
                                                  slack_api: FakeSlackAPI) -> None:
    async with serving(library, slack_api, secret="") as off:
        assert (await off.send(call(), secret=SECRET))[0] == 404


async def test_without_its_own_secret_the_shared_one_signs_as_standard_webhooks(
        library: PlaybookSet, slack_api: FakeSlackAPI) -> None:
    shared = "the-shared-webhook-secret-0123"
    async with serving(library, slack_api, secret="", webhook_secret=shared) as hook:
        assert (await hook.send(call(HAPPY), secret=shared))[0] == 202
        assert (await hook.send(call(HAPPY), secret=SECRET))[0] == 401
        await slack_api.wait_for("chat.postMessage")


async def test_the_old_signature_works_only_with_the_legacy_flag(
        library: PlaybookSet, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture) -> None:
    old_secret = "an-old-shared-secret-0123"
    body = json.dumps(call(HAPPY)).encode()
    old = {"Content-Type": "application/json", webhooks.HEADER: signing.sign(old_secret, body)}
    async with serving(library, slack_api, webhook_secret=old_secret) as strict:
        assert (await strict.post(webhooks.ROUTE, body, old))[0] == 401
    async with serving(library, slack_api, webhook_secret=old_secret, legacy=True) as lenient:
        assert (await lenient.post(webhooks.ROUTE, body, old))[0] == 202
        await slack_api.wait_for("chat.postMessage")
        assert (await lenient.post(webhooks.ROUTE, body, old)) == (200, {"status": "duplicate"})
        bad = {**old, webhooks.HEADER: signing.sign("another-secret", body)}
        assert (await lenient.post(webhooks.ROUTE, body, bad))[0] == 401
        assert (await lenient.send(call(UNHAPPY)))[0] == 202  # the new scheme, its own secret
        await slack_api.wait_for("chat.postMessage", 2)
    assert "signed the old way" in caplog.text


async def test_teams_gets_a_card_that_mentions_the_owner(
        library: PlaybookSet, slack_api: FakeSlackAPI,
        teams_connector: FakeTeamsConnector) -> None:
    async with serving(library, slack_api, teams_dev=True) as hook:
        added = json.loads((ROOT / "teams" / "conversation_update_bot_added.json").read_text())
        added["serviceUrl"] = teams_connector.service_url
        async with hook.http.post(hook.url + "/api/messages", json=added) as response:
            assert response.status == 200
        owner = "jane@contoso.example"
        status, _ = await hook.send(call(HAPPY, platform="teams", channel=TEAMS_CHANNEL,
                                         owner=owner))
        assert status == 202
        posts = await teams_connector.wait_for(2)
    card = posts[1].card
    assert posts[1].conversation == TEAMS_CHANNEL and card is not None
    assert card["body"][0] == {"type": "TextBlock", "text": f"<at>{owner}</at>", "wrap": True}
    assert card["msteams"]["entities"] == [{"type": "mention", "text": f"<at>{owner}</at>",
                                            "mentioned": {"id": owner, "name": owner}}]
    assert "Happy customer" in json.dumps(card)


# --- Gong: an automation rule's "Fire webhook" --------------------------------------------


async def test_gong_documented_call_nudges_its_owner_with_the_price_objection_steps(
        redis_hook: Hook) -> None:
    hook = redis_hook
    hook.slack.add_person("jane@touchpoint.example", OWNER)
    status, answer = await hook.gong(gong_fixture())
    assert (status, answer) == (202, {"status": "accepted"})
    (post,) = await hook.slack.wait_for("chat.postMessage")
    text = text_of(post)
    assert post.body["channel"] == OWNER
    assert text.startswith(f"<@{OWNER}> The call with Acme just ended.")
    assert "*After the call*" in text and "*Price objection*" in text
    assert post.body["metadata"]["event_payload"]["mark"] == "call:gong:5599332235511222779"
    assert await hook.gong(gong_fixture()) == (200, {"status": "duplicate"})
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_gong_test_deliveries_and_internal_calls_post_nothing(redis_hook: Hook) -> None:
    hook = redis_hook
    hook.slack.add_person("jane@touchpoint.example", OWNER)
    test = gong_fixture()
    test["isTest"] = True
    assert await hook.gong(test) == (200, {"status": "test"})
    internal = gong_fixture()
    internal["callData"]["metaData"]["scope"] = "Internal"
    internal["callData"]["metaData"]["id"] = "1"
    for party in internal["callData"]["parties"]:
        party["affiliation"] = "Internal"
    assert (await hook.gong(internal))[1]["status"] == "ignored"
    unknown_scope = gong_fixture()
    unknown_scope["callData"]["metaData"]["scope"] = "Unknown"
    assert (await hook.gong(unknown_scope))[0] == 202  # an External party took part
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("forge", ["expired", "other key", "other body", "other url", "no exp",
                                   "HS256", "garbage", "missing"])
async def test_gong_bad_tokens_are_401_and_nothing_happens(redis_hook: Hook,
                                                          forge: str) -> None:
    hook = redis_hook
    hook.slack.add_person("jane@touchpoint.example", OWNER)
    body = json.dumps(gong_fixture()).encode()
    url = "https://touchpoint.example.com" + webhooks.GONG_ROUTE
    token = {
        "expired": lambda: gong_jwt(body, url, expires_in=-120),
        "other key": lambda: gong_jwt(body, url, key=_other_key()),
        "other body": lambda: gong_jwt(body + b" ", url),
        "other url": lambda: gong_jwt(body, "https://touchpoint.example.com/hooks/other"),
        "no exp": lambda: gong_jwt(body, url, exp=None),
        "HS256": lambda: gong_jwt(body, url, alg="HS256"),
        "garbage": lambda: "not.a.jwt",
        "missing": lambda: "",
    }[forge]()
    assert (await hook.gong(body, token=token))[0] == 401
    other = gong_fixture()
    other["callData"]["metaData"]["id"] = "42"
    assert (await hook.gong(other))[0] == 202
    await hook.slack.wait_for("chat.postMessage")
    assert len(hook.slack.calls("chat.postMessage")) == 1
    await emptied(hook.store)


async def test_gong_bad_bodies_are_400(hook: Hook) -> None:
    assert (await hook.gong(b"[]"))[0] == 400
    broken = gong_fixture()
    broken["callData"]["metaData"].pop("id")
    status, answer = await hook.gong(broken)
    assert status == 400 and answer["field"] == "callData.metaData.id"
    body = json.dumps(gong_fixture()).encode()
    jwt = gong_jwt(body, "https://touchpoint.example.com" + webhooks.GONG_ROUTE)
    status, _ = await hook.post(webhooks.GONG_ROUTE, body, {"Content-Type": "text/plain",
                                                            "Authorization": jwt})
    assert status == 400


async def test_gong_token_may_come_as_a_bearer_and_huge_bodies_are_413(hook: Hook) -> None:
    hook.slack.add_person("jane@touchpoint.example", OWNER)
    body = json.dumps(gong_fixture()).encode()
    jwt = gong_jwt(body, "https://touchpoint.example.com" + webhooks.GONG_ROUTE)
    assert (await hook.gong(body, token=f"Bearer {jwt}"))[0] == 202
    for route, size in ((webhooks.GONG_ROUTE, webhooks.MAX_CALL_BODY),
                        (webhooks.ZOOM_ROUTE, webhooks.MAX_BODY)):
        huge = io.BytesIO(b"{" + b" " * size + b"}")
        async with hook.http.post(hook.url + route, data=huge, headers={
                "Content-Type": "application/json"}) as response:
            assert response.status == 413
    await hook.slack.wait_for("chat.postMessage")


async def test_gong_url_includes_key(library: PlaybookSet, slack_api: FakeSlackAPI) -> None:
    slack_api.add_person("jane@touchpoint.example", OWNER)
    async with serving(library, slack_api, gong_url_key=URL_KEY) as hook:
        body = json.dumps(gong_fixture()).encode()
        plain = {"Content-Type": "application/json"}
        wrong = await hook.post(f"{webhooks.GONG_ROUTE}?key=wrong-key-0123456789", body, plain)
        assert wrong[0] == 401
        assert (await hook.post(f"{webhooks.GONG_ROUTE}?key={URL_KEY}", body, plain))[0] == 202
        await slack_api.wait_for("chat.postMessage")


async def test_gong_call_nobody_can_be_found_for_is_counted(redis_hook: Hook) -> None:
    hook = redis_hook
    assert (await hook.gong(gong_fixture()))[0] == 202  # jane is unknown to Slack
    await hook.slack.wait_for("users.lookupByEmail")
    await emptied(hook.store)
    assert (await hook.store.counters()).get("call_unrouted") == 1
    assert hook.slack.calls("chat.postMessage") == []
    async with hook.http.get(hook.url + "/metrics") as response:
        assert 'touchpoint_call_nudges_total{outcome="unrouted"} 1' in await response.text()
    async with hook.http.get(hook.url + "/manage/analytics",
                             headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}) as response:
        page = await response.text()
    assert "1 customer calls found nobody to nudge" in page


async def test_gong_call_goes_to_the_channel_its_workspace_is_routed_to(
        library: PlaybookSet, slack_api: FakeSlackAPI, tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text(
        "routes:\n  - gong_workspace: '623457276584334'\n    channel: slack:C0EMEA001\n")
    slack_api.add_person("jane@touchpoint.example", OWNER)
    async with serving(library, slack_api, folder=tmp_path) as hook:
        assert (await hook.gong(gong_fixture()))[0] == 202
        (post,) = await slack_api.wait_for("chat.postMessage")
    assert post.body["channel"] == "C0EMEA001"
    assert text_of(post).startswith(f"<@{OWNER}> The call with Acme")


async def test_gong_owner_on_teams_gets_the_nudge_in_their_chat_with_the_bot(
        library: PlaybookSet, slack_api: FakeSlackAPI, teams_connector: FakeTeamsConnector,
        tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text("direct_messages: teams\n")
    async with serving(library, slack_api, teams_dev=True, folder=tmp_path) as hook:
        chat = json.loads((ROOT / "teams" / "personal_message.json").read_text())
        chat["serviceUrl"] = teams_connector.service_url
        async with hook.http.post(hook.url + "/api/messages", json=chat) as response:
            assert response.status == 200
        await teams_connector.wait_for(1)
        gong = gong_fixture()
        gong["callData"]["parties"][0]["emailAddress"] = "Test.User@example.com"  # the fake's
        assert (await hook.gong(gong))[0] == 202
        posts = await teams_connector.wait_for(2)
    nudge = posts[1]
    assert nudge.conversation == chat["conversation"]["id"] and nudge.card is not None
    assert "Price objection" in json.dumps(nudge.card)
    assert [r.kind for r in teams_connector.requests].count("members") == 1
    assert slack_api.calls("chat.postMessage") == []


# --- Zoom: the Marketplace app's event subscription ---------------------------------------


async def test_zoom_url_validation_is_answered_with_the_hmac_of_the_token(hook: Hook) -> None:
    challenge = zoom_fixture("zoom_url_validation.json")
    status, answer = await hook.zoom(challenge)
    plain = challenge["payload"]["plainToken"]
    expected = call_signatures.zoom_challenge(ZOOM_SECRET, plain)
    assert (status, answer) == (200, {"plainToken": plain, "encryptedToken": expected})
    assert len(expected) == 64 and int(expected, 16) >= 0


async def test_zoom_meeting_ended_nudges_the_listed_host(
        library: PlaybookSet, slack_api: FakeSlackAPI, redis_url: str, redis_prefix: str,
        tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text(
        "zoom_hosts:\n  - id: x1yCzABCDEfg23HiJKl4mN\n    email: jane@touchpoint.example\n")
    slack_api.add_person("jane@touchpoint.example", OWNER)
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    try:
        async with serving(library, slack_api, store=store, folder=tmp_path) as hook:
            meeting = zoom_fixture()
            assert (await hook.zoom(meeting))[0] == 202
            (post,) = await slack_api.wait_for("chat.postMessage")
            assert await hook.zoom(meeting) == (200, {"status": "duplicate"})
            standup = zoom_fixture()
            standup["payload"]["object"].update(uuid="other==", topic="Weekly team standup")
            assert (await hook.zoom(standup))[1]["status"] == "ignored"
    finally:
        await store.close()
    assert post.body["channel"] == OWNER
    assert text_of(post).startswith(f"<@{OWNER}> The call with Discovery call with Acme")
    assert len(slack_api.calls("chat.postMessage")) == 1


async def test_zoom_every_meeting_of_a_host_who_asked(
        library: PlaybookSet, slack_api: FakeSlackAPI, tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text(
        "zoom_hosts:\n  - id: x1yCzABCDEfg23HiJKl4mN\n    email: jane@touchpoint.example\n"
        "    every_meeting: true\n")
    slack_api.add_person("jane@touchpoint.example", OWNER)
    async with serving(library, slack_api, folder=tmp_path) as hook:
        standup = zoom_fixture()
        standup["payload"]["object"]["topic"] = "Weekly check-in"
        assert (await hook.zoom(standup))[0] == 202
        await slack_api.wait_for("chat.postMessage")


@pytest.mark.parametrize("forge", ["secret", "stale", "future", "no timestamp", "no signature"])
async def test_zoom_bad_signatures_and_stale_timestamps_are_401(hook: Hook, forge: str) -> None:
    body = json.dumps(zoom_fixture()).encode()
    headers = {
        "secret": lambda: zoom_headers(body, secret="another-zoom-secret-token"),
        "stale": lambda: zoom_headers(body, at=time.time() - 301),
        "future": lambda: zoom_headers(body, at=time.time() + 301),
        "no timestamp": lambda: {k: v for k, v in zoom_headers(body).items()
                                 if k != "x-zm-request-timestamp"},
        "no signature": lambda: {k: v for k, v in zoom_headers(body).items()
                                 if k != "x-zm-signature"},
    }[forge]()
    assert (await hook.post(webhooks.ZOOM_ROUTE, body, headers))[0] == 401
    challenge = json.dumps(zoom_fixture("zoom_url_validation.json")).encode()
    stale = zoom_headers(challenge, at=time.time() - 600)
    assert (await hook.post(webhooks.ZOOM_ROUTE, challenge, stale))[0] == 401
    assert hook.slack.calls() == []


async def test_zoom_wrong_content_type_is_400(hook: Hook) -> None:
    body = json.dumps(zoom_fixture()).encode()
    headers = {**zoom_headers(body), "Content-Type": "text/plain"}
    assert (await hook.post(webhooks.ZOOM_ROUTE, body, headers))[0] == 400


async def emptied(store: Store) -> None:
    """Until the outbox is empty: every call accepted so far was posted or settled."""
    deadline = time.monotonic() + HANG_GUARD
    while await store.outbox(10):
        assert time.monotonic() < deadline, await store.outbox(10)
        await asyncio.sleep(0.01)
