"""`POST /hooks/call-ended` over real HTTP, posting through the fake Slack API and Teams connector.

"Nothing happened" is shown without waiting on a clock: after a refused
request a good one is sent, and once its post has arrived the refused one
can be seen never to have posted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.slack_api import Call, FakeSlackAPI
from fakes.teams_connector import FakeTeamsConnector

from adapters import teams
from bot.handler import Handler
from bot.library import PlaybookSet
from bot.store import MemoryStore
from touchpoint import scheduler, signing, webhooks
from touchpoint.server import build_app
from touchpoint.settings import Settings

SECRET = "call-hook-secret-for-tests"
TOKEN = "xoxb-1111-2222-fakefakefake"
CHANNEL = "C0SALES01"
TEAMS_CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
UNHAPPY = "Call with Acme: the customer was furious about the outage and threatened to cancel"
HAPPY = ("Call with Acme: they love the new dashboard and said they would happily recommend "
         "us to a partner")


@dataclass
class Hook:
    url: str
    http: aiohttp.ClientSession
    slack: FakeSlackAPI

    async def send(self, payload: Any, *, secret: str = SECRET,
                   signature: str | None = None) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json",
                   webhooks.HEADER: signature or signing.sign(secret, body)}
        async with self.http.post(self.url + webhooks.ROUTE, data=body,
                                  headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer


def call(summary: str = UNHAPPY, **fields: Any) -> dict[str, Any]:
    return {"platform": "slack", "channel": CHANNEL, "customer": "Acme",
            "summary": summary, "owner": "U0OWNER01", **fields}


def text_of(post: Call) -> str:
    return "\n".join([post.body["text"]] + [b["text"]["text"] for b in post.body["blocks"]
                                            if "text" in b])


@asynccontextmanager
async def serving(library: PlaybookSet, slack_api: FakeSlackAPI, secret: str = SECRET,
                  teams_dev: bool = False) -> AsyncIterator[Hook]:
    """The server as `serve` assembles it for this route."""
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret="s" * 32,
                        slack_api_url=slack_api.url, webhook_secret=secret, teams_dev=teams_dev)
    store = MemoryStore()
    handler = Handler(library, store)
    app = build_app(settings, handler)
    teams.attach(app, handler, settings, teams.RetryPolicy(attempts=2, base_delay=0.01))
    outbounds = scheduler.outbounds_for(app, settings, store)
    webhooks.attach(app, handler, outbounds, settings.webhook_secret)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Hook(f"http://127.0.0.1:{runner.addresses[0][1]}", http, slack_api)
    finally:
        await runner.cleanup()


@pytest.fixture
async def hook(library: PlaybookSet, slack_api: FakeSlackAPI) -> AsyncIterator[Hook]:
    async with serving(library, slack_api) as running:
        yield running


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


@pytest.mark.parametrize("signature", [
    None, "", "sha256=", "sha256=" + "0" * 64, "md5=abc", signing.sign("wrong", b"{}"),
])
async def test_a_bad_signature_is_401_and_nothing_happens(hook: Hook,
                                                          signature: str | None) -> None:
    body = json.dumps(call(UNHAPPY)).encode()
    if signature is None:
        async with hook.http.post(hook.url + webhooks.ROUTE, data=body) as response:
            status = response.status
    else:
        status = (await hook.send(body, signature=signature or "x"))[0]
    assert status == 401
    assert (await hook.send(call(HAPPY)))[0] == 202
    (post,) = await hook.slack.wait_for("chat.postMessage")
    assert "Happy customer" in text_of(post)
    assert len(hook.slack.calls("chat.postMessage")) == 1


async def test_a_body_signed_with_another_secret_or_changed_after_signing(hook: Hook) -> None:
    body = json.dumps(call()).encode()
    assert (await hook.send(body, secret="another"))[0] == 401
    tampered = body.replace(b"U0OWNER01", b"U0MALLORY")
    assert (await hook.send(tampered, signature=signing.sign(SECRET, body)))[0] == 401


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


async def test_a_senders_retry_is_posted_once(hook: Hook) -> None:
    body = json.dumps(call(UNHAPPY)).encode()
    assert [(await hook.send(body))[0] for _ in range(3)] == [202, 202, 202]
    assert (await hook.send(call(HAPPY)))[0] == 202
    posts = await hook.slack.wait_for("chat.postMessage", 2)
    assert ["Unhappy customer" in text_of(p) for p in posts].count(True) == 1
    assert len(hook.slack.calls("chat.postMessage")) == 2


async def test_a_failed_post_is_retried(hook: Hook) -> None:
    hook.slack.server_error("chat.postMessage")
    assert (await hook.send(call()))[0] == 202
    first, second = await hook.slack.wait_for("chat.postMessage", 2)
    assert first.status == 500 and second.ok


async def test_too_big_a_body_is_refused(hook: Hook) -> None:
    status, _ = await hook.send(call(summary="x" * (webhooks.MAX_BODY + 10)))
    assert status == 413


async def test_without_a_secret_there_is_no_route(library: PlaybookSet,
                                                  slack_api: FakeSlackAPI) -> None:
    async with serving(library, slack_api, secret="") as off:
        assert (await off.send(call(), secret="anything"))[0] == 404


async def test_teams_gets_a_card_that_mentions_the_owner(
        library: PlaybookSet, slack_api: FakeSlackAPI,
        teams_connector: FakeTeamsConnector) -> None:
    async with serving(library, slack_api, teams_dev=True) as hook:
        added = json.loads((FIXTURES / "conversation_update_bot_added.json").read_text())
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
