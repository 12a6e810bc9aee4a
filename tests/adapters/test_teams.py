"""Teams end to end: the real server on a real port, real Bot Framework activities in,
replies out to a fake connector on 127.0.0.1 (see tests/fakes/teams_connector.py).

The activities are the captures in tests/fixtures/teams/ (provenance in SOURCES.md
there), with `serviceUrl` pointed at the fake. The server runs in dev mode
(no app id), except where a test checks that authentication refuses a request.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from fakes.bot_framework_keys import KID, FakeBotFrameworkKeys
from fakes.teams_connector import FakeTeamsConnector, Recorded

from adapters.teams import app as teams
from adapters.teams.cards import ACTION_KEY, PLAYBOOK_KEY
from adapters.teams.connector import service_url_check
from adapters.teams.outbound import TeamsOutbound
from adapters.teams.requests import MAX_ACTIVITY_BYTES
from bot import feedback
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.messages import Reply
from bot.playbook_set import PlaybookSet
from bot.store import Store
from touchpoint.server import build_app
from touchpoint.settings import TEAMS_SERVICE_URLS, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
BOT_ID = "28:11111111-2222-3333-4444-555555555555"
APP_ID = "11111111-2222-3333-4444-555555555555"
USER_AAD = "00000000-1111-2222-3333-444444444444"
TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
CHANNEL = "19:fakechannelid000000000000000000001@thread.tacv2"
PERSONAL = ("a:1FakePersonalConversationId00000000000000000000000000000000000000000000000000"
            "0000000000000000000")
FAST = teams.RetryPolicy(attempts=3, base_delay=0.01, max_delay=1.0)


@dataclass
class Running:
    url: str
    store: Store
    handler: Handler
    bot: teams.TeamsAdapter
    connector: FakeTeamsConnector
    session: ClientSession

    def activity(self, name: str, **changes: Any) -> dict[str, Any]:
        """A captured activity, aimed at the fake connector, with fields replaced."""
        raw: dict[str, Any] = json.loads((FIXTURES / name).read_text())
        raw["serviceUrl"] = self.connector.service_url
        raw.update(changes)
        return raw

    async def post(self, body: Any, headers: dict[str, str] | None = None
                   ) -> tuple[int, str]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.session.post(f"{self.url}/api/messages", data=data, headers={
                "Content-Type": "application/json", **(headers or {})}) as response:
            return response.status, await response.text()


@contextlib.asynccontextmanager
async def start(settings: Settings, library: PlaybookSet, connector: FakeTeamsConnector,
                host: str = "127.0.0.1", store: Store | None = None) -> AsyncIterator[Running]:
    store = store or MemoryStore()
    handler = Handler(library, store)
    app = build_app(settings, handler)
    bot = teams.attach(app, handler, settings.teams, FAST)
    assert bot is not None
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    async with ClientSession() as session:
        yield Running(f"http://{host}:{port}", store, handler, bot, connector, session)
    await runner.cleanup()


@pytest.fixture
async def server(library: PlaybookSet, teams_connector: FakeTeamsConnector
                 ) -> AsyncIterator[Running]:
    async with start(Settings(teams_dev=True), library, teams_connector) as running:
        yield running


def example(library: PlaybookSet, mode: str = "guide") -> tuple[str, str]:
    """A shipped playbook example the matcher places in `mode`, and its playbook id."""
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            best = library.matcher.match(text, mode).best  # type: ignore[arg-type]
            if best is not None and best.playbook == playbook.id:
                return text, playbook.id
    raise AssertionError(f"no shipped example matches in {mode} mode")


def mention(text: str) -> dict[str, Any]:
    return {"text": f"<at>FakeBot</at> {text}"}


def actions_of(post: Recorded) -> list[dict[str, Any]]:
    card = post.card
    assert card is not None, post.body
    return list(card.get("actions", []))


# --- messages ------------------------------------------------------------------------------


async def test_channel_mention_answers_in_its_thread_with_a_card(
        server: Running, library: PlaybookSet) -> None:
    text, playbook_id = example(library)
    raw = server.activity("message.json", **mention(text))
    status, _ = await server.post(raw)
    assert status == 200
    [post] = await server.connector.wait_for(1)
    assert post.conversation == raw["conversation"]["id"]
    assert post.reply_to == raw["id"]
    assert "Authorization" not in post.headers
    assert post.body["from"]["id"] == BOT_ID
    card = post.card
    assert card is not None and card["version"] == "1.4"
    playbook = library.by_id[playbook_id]
    assert playbook.title in post.card_text
    assert "Why this playbook" in post.card_text
    assert "Matched because" in post.card_text and "Score" not in post.card_text
    assert playbook.guidance[0] in post.card_text
    labels = [a["title"] for a in actions_of(post)]
    assert labels == ["Helpful", "Not helpful", "Show the whole playbook"]
    for action in actions_of(post):
        assert action["type"] == "Action.Execute"
        assert feedback.read_button(action["data"][PLAYBOOK_KEY])[0] == playbook_id
        assert action["fallback"]["type"] == "Action.Submit"
        assert action["fallback"]["data"] == action["data"]


async def test_captured_channel_mention_is_answered_without_the_mention(
        server: Running) -> None:
    raw = server.activity("message.json")
    assert raw["text"] == "<at>FakeBot</at> Hey"
    assert raw["channelData"]["team"]["id"] and raw["channelData"]["tenant"]["id"]
    status, _ = await server.post(raw)
    assert status == 200
    [post] = await server.connector.wait_for(1)
    assert '"Hey"' in post.card_text
    assert "FakeBot" not in post.card_text and "<at>" not in post.card_text


async def test_personal_message_replay(server: Running) -> None:
    raw = server.activity("personal_message.json")
    assert (await server.post(raw))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert post.conversation == PERSONAL
    assert post.reply_to == raw["id"]
    assert '"Hey"' in post.card_text


async def test_personal_message_msdocs_replay(server: Running) -> None:
    assert (await server.post(server.activity("personal_message_msdocs.json")))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert '"Hello FakeBot"' in post.card_text


async def test_commands_in_personal_chat(server: Running, library: PlaybookSet) -> None:
    def say(text: str, n: int) -> dict[str, Any]:
        return server.activity("personal_message.json", text=text, id=f"cmd-{n}")

    for n, text in enumerate(["help", "list", f"show {library.playbooks[0].id}", "mute"]):
        assert (await server.post(say(text, n)))[0] == 200
    help_post, list_post, show_post, mute_post = await server.connector.wait_for(4)
    assert "@Touchpoint list" in help_post.card_text
    assert library.playbooks[-1].id in list_post.card_text
    assert library.playbooks[0].title in show_post.card_text
    assert mute_post.text.startswith("Muted")
    assert mute_post.body["textFormat"] == "plain" and mute_post.card is None
    assert await server.store.is_muted(f"teams:{USER_AAD}")
    assert (await server.post(say("unmute", 9)))[0] == 200
    assert not await server.store.is_muted(f"teams:{USER_AAD}")


async def test_mention_with_html_and_other_mentions(server: Running) -> None:
    raw = server.activity(
        "message.json", id="html-1",
        text="<p><at>FakeBot</at>&nbsp;<b>show</b>&nbsp;nothing-such&amp;co</p>")
    assert (await server.post(raw))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert post.text.startswith('There is no playbook "nothing-such&co"')


async def test_channel_message_without_mention_nudges_once(
        server: Running, library: PlaybookSet) -> None:
    text, playbook_id = example(library, "nudge")

    def channel_message(n: int) -> dict[str, Any]:
        raw = server.activity("message.json", text=text, id=f"17712901074{n:02d}",
                              entities=[])
        raw["conversation"]["id"] = f"{CHANNEL};messageid=17712901074{n:02d}"
        return raw

    assert (await server.post(channel_message(1)))[0] == 200
    [nudge] = await server.connector.wait_for(1)
    assert nudge.conversation == f"{CHANNEL};messageid=1771290107401"
    assert nudge.reply_to == "1771290107401"
    assert library.by_id[playbook_id].nudge in nudge.card_text
    assert [a["title"] for a in actions_of(nudge)] == ["Show the whole playbook"]
    # The same playbook again in the same channel, another thread: cooled down.
    assert (await server.post(channel_message(2)))[0] == 200
    assert len(server.connector.posted) == 1


async def test_muted_people_are_not_nudged(server: Running, library: PlaybookSet) -> None:
    text, _ = example(library, "nudge")
    await server.store.set_muted(f"teams:{USER_AAD}", True)
    raw = server.activity("message.json", text=text, entities=[])
    assert (await server.post(raw))[0] == 200
    assert server.connector.requests == []


async def test_reaction_and_unknown_activities_cause_nothing(server: Running) -> None:
    assert (await server.post(server.activity("message_reaction.json")))[0] == 200
    assert (await server.post(server.activity("personal_message.json", type="typing")))[0] == 200
    assert server.connector.requests == []


async def test_the_bots_own_messages_are_ignored(server: Running) -> None:
    raw = server.activity("personal_message.json", text="help")
    raw["from"] = {"id": BOT_ID, "name": "FakeBot"}
    assert (await server.post(raw))[0] == 200
    assert server.connector.requests == []


# --- replays and connector errors -----------------------------------------------------------


async def test_a_replayed_activity_is_answered_once(server: Running) -> None:
    raw = server.activity("personal_message.json", text="help")
    for _ in range(3):
        assert (await server.post(raw))[0] == 200
    await server.connector.wait_for(1)
    assert len(server.connector.posted) == 1


async def test_429_with_retry_after_is_retried(server: Running) -> None:
    server.connector.fail_next(429, retry_after="1")
    assert (await server.post(server.activity("personal_message.json", text="help")))[0] == 200
    await server.connector.wait_for(1)
    assert [r.status for r in server.connector.requests] == [429, 200]
    assert server.connector.requests[0].body == server.connector.requests[1].body


async def test_5xx_is_retried_with_backoff(server: Running) -> None:
    server.connector.fail_next(503)
    server.connector.fail_next(500)
    assert (await server.post(server.activity("personal_message.json", text="help")))[0] == 200
    await server.connector.wait_for(1)
    assert [r.status for r in server.connector.requests] == [503, 500, 200]


async def test_retries_are_bounded(server: Running, caplog: pytest.LogCaptureFixture) -> None:
    server.connector.fail_next(429, times=FAST.attempts, retry_after="0")
    with caplog.at_level(logging.ERROR, logger="touchpoint.teams"):
        status, _ = await server.post(server.activity("personal_message.json", text="help"))
    assert status == 200
    assert [r.status for r in server.connector.requests] == [429] * FAST.attempts
    assert "failed for good" in caplog.text
    # The server is still fine.
    assert (await server.post(server.activity("personal_message.json", text="list",
                                              id="after")))[0] == 200
    await server.connector.wait_for(1)


async def test_403_is_logged_and_drops_the_reference(
        server: Running, caplog: pytest.LogCaptureFixture) -> None:
    assert (await server.post(server.activity("conversation_update_bot_added_personal.json")))[0] \
        == 200
    await server.connector.wait_for(1)
    assert PERSONAL in await server.store.references("teams")
    server.connector.fail_next(403)
    with caplog.at_level(logging.WARNING, logger="touchpoint.teams"):
        status, _ = await server.post(server.activity("personal_message.json", text="help"))
    assert status == 200
    assert server.connector.requests[-1].status == 403
    assert len([r for r in server.connector.requests if r.status == 403]) == 1
    assert "403" in caplog.text
    assert PERSONAL not in await server.store.references("teams")


# --- joining and leaving ---------------------------------------------------------------------


async def test_added_to_a_team_welcomes_once_and_saves_the_reference(server: Running) -> None:
    raw = server.activity("conversation_update_bot_added.json")
    assert (await server.post(raw))[0] == 200
    assert (await server.post(raw))[0] == 200
    [welcome] = await server.connector.wait_for(1)
    assert len(server.connector.posted) == 1
    assert welcome.conversation == CHANNEL
    assert welcome.reply_to == ""
    assert "Touchpoint" in welcome.card_text
    reference = json.loads((await server.store.references("teams"))[CHANNEL])
    assert reference["serviceUrl"] == server.connector.service_url
    assert reference["bot"]["id"] == BOT_ID
    assert reference["conversation"]["tenantId"] == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


async def test_added_to_a_personal_chat(server: Running) -> None:
    raw = server.activity("conversation_update_bot_added_personal.json")
    assert (await server.post(raw))[0] == 200
    [welcome] = await server.connector.wait_for(1)
    assert welcome.conversation == PERSONAL
    assert PERSONAL in await server.store.references("teams")


async def test_removed_drops_the_reference(server: Running) -> None:
    added = server.activity("conversation_update_bot_added.json")
    assert (await server.post(added))[0] == 200
    removed = server.activity("conversation_update_bot_added.json", id="f:removed-1")
    removed["membersRemoved"] = removed.pop("membersAdded")
    removed["channelData"]["eventType"] = "teamMemberRemoved"
    assert (await server.post(removed))[0] == 200
    assert await server.store.references("teams") == {}
    assert len(server.connector.posted) == 1  # the welcome only


async def test_someone_else_joining_is_not_welcomed(server: Running) -> None:
    raw = server.activity("conversation_update_bot_added.json")
    raw["membersAdded"] = [{"id": "29:someone-else"}]
    assert (await server.post(raw))[0] == 200
    assert server.connector.requests == []


async def test_installation_update_saves_the_reference_quietly(server: Running) -> None:
    assert (await server.post(server.activity("installation_update_add.json")))[0] == 200
    assert CHANNEL in await server.store.references("teams")
    assert server.connector.requests == []
    remove = server.activity("installation_update_add.json", action="remove", id="f:rm")
    assert (await server.post(remove))[0] == 200
    assert await server.store.references("teams") == {}


# --- card actions ------------------------------------------------------------------------------


async def guidance(server: Running, library: PlaybookSet) -> tuple[Recorded, str]:
    text, playbook_id = example(library)
    assert (await server.post(server.activity("message.json", **mention(text))))[0] == 200
    [post] = await server.connector.wait_for(1)
    return post, playbook_id


async def test_action_submit_is_handled(server: Running, library: PlaybookSet) -> None:
    post, playbook_id = await guidance(server, library)
    helpful = actions_of(post)[0]["fallback"]["data"]
    raw = server.activity("message_card_submit.json", value=helpful)
    assert (await server.post(raw))[0] == 200
    posts = await server.connector.wait_for(2)
    assert posts[1].text == "Glad it helped."
    assert posts[1].conversation == raw["conversation"]["id"]
    assert await server.store.counters("helpful") == {f"helpful:{playbook_id}": 1}


async def test_action_execute_answers_in_the_invoke_response(
        server: Running, library: PlaybookSet) -> None:
    post, playbook_id = await guidance(server, library)
    not_helpful = actions_of(post)[1]
    raw = server.activity("invoke_adaptive_card_action.json")
    raw["value"]["action"] = {k: not_helpful[k] for k in ("type", "title", "verb", "data")}
    status, body = await server.post(raw)
    assert status == 200
    answer = json.loads(body)
    assert answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert answer["value"].startswith("Thanks")
    posts = await server.connector.wait_for(2)  # the guidance card, then the form
    assert [a["title"] for a in actions_of(posts[1])] == ["Send"]
    assert await server.store.counters("not_helpful") == {f"not_helpful:{playbook_id}": 1}


async def test_action_execute_show_posts_the_whole_playbook(
        server: Running, library: PlaybookSet) -> None:
    post, playbook_id = await guidance(server, library)
    show = actions_of(post)[2]
    raw = server.activity("invoke_adaptive_card_action.json", id="f:show-1")
    raw["value"]["action"] = {k: show[k] for k in ("type", "title", "verb", "data")}
    status, body = await server.post(raw)
    assert status == 200 and json.loads(body)["statusCode"] == 200
    posts = await server.connector.wait_for(2)
    assert "Daily prompts" in posts[1].card_text
    assert library.by_id[playbook_id].nudge in posts[1].card_text
    assert posts[1].conversation == PERSONAL


async def test_captured_invoke_from_another_card_gets_a_polite_200(server: Running) -> None:
    status, body = await server.post(server.activity("invoke_adaptive_card_action.json"))
    assert status == 200
    assert json.loads(body) == {"statusCode": 200,
                                "type": "application/vnd.microsoft.activity.message",
                                "value": "That button is no longer supported."}
    assert server.connector.requests == []


async def test_captured_submit_from_another_card_is_ignored(server: Running) -> None:
    assert (await server.post(server.activity("message_card_submit.json")))[0] == 200
    assert server.connector.requests == []


async def test_a_replayed_invoke_still_gets_an_invoke_response(server: Running) -> None:
    raw = server.activity("invoke_adaptive_card_action.json")
    raw["value"]["action"]["data"] = {ACTION_KEY: "helpful", PLAYBOOK_KEY: "no-such"}
    first = await server.post(raw)
    second = await server.post(raw)
    assert first[0] == second[0] == 200
    assert json.loads(first[1])["value"] == "That playbook is no longer available."
    assert json.loads(second[1])["statusCode"] == 200


# --- proactive ---------------------------------------------------------------------------------


async def test_proactive_post_to_a_saved_reference(server: Running) -> None:
    assert (await server.post(server.activity("conversation_update_bot_added.json")))[0] == 200
    assert await server.bot.post(CHANNEL, [Reply(text="Who did you surprise today?")])
    posts = await server.connector.wait_for(2)
    assert posts[1].conversation == CHANNEL and posts[1].reply_to == ""
    assert posts[1].text == "Who did you surprise today?"


async def test_proactive_post_without_reference_or_after_removal(server: Running) -> None:
    assert not await server.bot.post(CHANNEL, [Reply(text="hello")])
    assert (await server.post(server.activity("conversation_update_bot_added.json")))[0] == 200
    server.connector.fail_next(403)
    assert not await server.bot.post(CHANNEL, [Reply(text="hello")])
    assert await server.store.references("teams") == {}
    assert await server.bot.post_to_reference("not json", [Reply(text="hello")]) == "failed"


# --- malformed requests ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"not json",
    b"",
    b"[1, 2]",
    b"{\"type\": \"message\"}",
    json.dumps({"text": "no type", "serviceUrl": "http://127.0.0.1:9/",
                "conversation": {"id": "x"}}).encode(),
    b"[" * 100_000 + b"]" * 100_000,
])
async def test_malformed_bodies_get_400_and_do_nothing(server: Running, body: bytes) -> None:
    status, _ = await server.post(body)
    assert status == 400
    assert server.connector.requests == []
    assert await server.store.counters() == {}


async def test_wrongly_typed_fields_get_400(server: Running) -> None:
    for change in ({"type": 7}, {"serviceUrl": "ftp://x/"}, {"conversation": "x"},
                   {"entities": {"a": 1}}, {"from": "someone"}, {"timestamp": "not a date"}):
        status, _ = await server.post(server.activity("personal_message.json", **change))
        assert status == 400, change
    assert server.connector.requests == []


async def test_huge_bodies_get_413(server: Running) -> None:
    raw = server.activity("personal_message.json", text="x" * (MAX_ACTIVITY_BYTES + 1))
    status, _ = await server.post(raw)
    assert status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_ACTIVITY_BYTES // 1024 + 2):
            yield b" " * 1024

    async with server.session.post(f"{server.url}/api/messages", data=chunks(),
                                   headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
    assert server.connector.requests == []


# --- who may call ---------------------------------------------------------------------------


async def test_dev_mode_refuses_forwarded_requests(server: Running) -> None:
    status, _ = await server.post(server.activity("personal_message.json", text="help"),
                                  headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 401
    assert server.connector.requests == []


def non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_dev_mode_refuses_a_real_non_loopback_peer(
        library: PlaybookSet, teams_connector: FakeTeamsConnector) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to test with")
    async with start(Settings(teams_dev=True), library, teams_connector, address) as running:
        raw = running.activity("personal_message.json", text="help")
        status, _ = await running.post(raw)
        assert status == 401
        assert teams_connector.requests == []


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail, and remember, any name lookup that isn't this machine: Microsoft stays unasked."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(str(host))
            raise OSError(f"test tried to reach {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts


def test_the_network_guard_catches_lookups(no_network: list[str]) -> None:
    """The offline tests below mean something only if the guard sees real lookups."""
    with pytest.raises(OSError):
        socket.getaddrinfo("login.botframework.com", 443)
    assert no_network == ["login.botframework.com"]


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': 'x'})}.{part(claims)}.c2ln"


LOCAL_SERVICE_URLS = r"^http://127\.0\.0\.1:\d+/"
"""The serviceUrl allow-list pointed at the fake connector, for the authenticated tests."""


def authenticated(keys: FakeBotFrameworkKeys, **changes: Any) -> Settings:
    """A single-tenant bot whose tokens are checked against the fake's keys."""
    return dataclasses.replace(Settings(
        microsoft_app_id=APP_ID, microsoft_app_password="secret",
        microsoft_app_tenant_id=TENANT, teams_openid_url=keys.openid_url,
        teams_service_urls=LOCAL_SERVICE_URLS), **changes)


async def test_with_an_app_id_unauthenticated_requests_get_401_offline(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys, no_network: list[str]) -> None:
    keys = bot_framework_keys
    async with start(authenticated(keys), library, teams_connector) as running:
        assert not running.bot.dev_mode
        raw = running.activity("personal_message.json", text="help")
        url = raw["serviceUrl"]
        stranger = FakeBotFrameworkKeys()
        tokens = {
            "another key": stranger.token(APP_ID, url),
            "another key, our key id": stranger.token(APP_ID, url, kid=KID),
            "another audience": keys.token("22222222-2222-3333-4444-555555555555", url),
            "another issuer": keys.token(APP_ID, url, iss="https://attacker.example"),
            "expired": keys.token(APP_ID, url, exp=int(time.time()) - 3600),
            "another serviceUrl": keys.token(APP_ID, "https://smba.trafficmanager.net/amer/"),
            "no expiry": keys.token(APP_ID, url, exp=None),
        }
        headers: list[dict[str, str]] = [
            {},
            {"Authorization": ""},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": "Bearer " + unsigned_jwt(
                {"iss": "https://attacker.example", "aud": APP_ID})},
        ] + [{"Authorization": f"Bearer {token}"} for token in tokens.values()]
        for header in headers:
            status, _ = await running.post(raw, header)
            assert status == 401, header
    assert no_network == []
    assert teams_connector.requests == []
    assert await running.store.counters() == {}


async def test_a_signed_activity_is_accepted(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys, no_network: list[str]) -> None:
    """Replying needs a token from Microsoft Entra, which tests cannot reach: an
    installationUpdate is answered by saving the reference, without posting."""
    keys = bot_framework_keys
    async with start(authenticated(keys), library, teams_connector) as running:
        raw = running.activity("installation_update_add.json")
        token = keys.token(APP_ID, raw["serviceUrl"])
        status, _ = await running.post(raw, {"Authorization": f"Bearer {token}"})
        assert status == 200
        assert CHANNEL in await running.store.references("teams")
        assert keys.requests == ["/v1/.well-known/openidconfiguration", "/v1/.well-known/keys"]
        # The keys are cached: more requests, even with unknown key ids, fetch nothing now.
        stranger = FakeBotFrameworkKeys().token(APP_ID, raw["serviceUrl"], kid="unknown")
        for _ in range(5):
            assert (await running.post(raw, {"Authorization": f"Bearer {stranger}"}))[0] == 401
        assert len(keys.requests) == 2
    assert no_network == []


async def test_a_key_not_endorsed_for_the_channel_is_refused(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys) -> None:
    keys = bot_framework_keys
    keys.endorsements = ["webchat"]
    async with start(authenticated(keys), library, teams_connector) as running:
        raw = running.activity("installation_update_add.json")
        token = keys.token(APP_ID, raw["serviceUrl"])
        assert (await running.post(raw, {"Authorization": f"Bearer {token}"}))[0] == 401
        assert await running.store.references("teams") == {}


async def test_without_a_token_from_entra_nothing_is_posted(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys, no_network: list[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """Tests cannot reach Microsoft Entra: the bot's token is asked for (in a worker
    thread), none comes, and the post fails without anything reaching the connector."""
    async with start(authenticated(bot_framework_keys), library, teams_connector) as running:
        reference = json.dumps({"bot": {"id": BOT_ID}, "conversation": {"id": CHANNEL},
                                "channelId": "msteams",
                                "serviceUrl": teams_connector.service_url})
        with caplog.at_level(logging.ERROR, logger="touchpoint.teams"):
            outcome = await running.bot.post_to_reference(reference, [Reply(text="hi")])
        assert outcome == "failed"
        assert "the bot has no token" in caplog.text
    assert teams_connector.requests == []
    assert set(no_network) == {"login.microsoftonline.com"}


async def test_other_tenants_are_refused(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys) -> None:
    keys = bot_framework_keys
    other = "99999999-8888-7777-6666-555555555555"
    async with start(authenticated(keys, microsoft_app_tenant_id=other), library,
                     teams_connector) as running:
        assert running.bot.tenants == (other,)
        raw = running.activity("installation_update_add.json")
        token = keys.token(APP_ID, raw["serviceUrl"])
        assert (await running.post(raw, {"Authorization": f"Bearer {token}"}))[0] == 403
        assert await running.store.references("teams") == {}
    async with start(authenticated(keys, teams_tenants=(other, TENANT)), library,
                     teams_connector) as running:
        assert (await running.post(raw, {"Authorization": f"Bearer {token}"}))[0] == 200
        assert CHANNEL in await running.store.references("teams")


async def test_dev_mode_tenant_allow_list(library: PlaybookSet,
                                          teams_connector: FakeTeamsConnector) -> None:
    settings = Settings(teams_dev=True, teams_tenants=("99999999-8888-7777-6666-555555555555",))
    async with start(settings, library, teams_connector) as running:
        status, _ = await running.post(running.activity("personal_message.json", text="help"))
        assert status == 403
    assert teams_connector.requests == []


async def test_service_urls_outside_the_allow_list_are_never_used(
        library: PlaybookSet, teams_connector: FakeTeamsConnector,
        bot_framework_keys: FakeBotFrameworkKeys, no_network: list[str]) -> None:
    """Microsoft's hosts only: an activity naming the fake connector is refused before its
    token is read, and a saved reference pointing there is never posted to."""
    settings = authenticated(bot_framework_keys, teams_service_urls=TEAMS_SERVICE_URLS)
    async with start(settings, library, teams_connector) as running:
        raw = running.activity("installation_update_add.json")
        token = bot_framework_keys.token(APP_ID, raw["serviceUrl"])
        assert (await running.post(raw, {"Authorization": f"Bearer {token}"}))[0] == 401
        reference = json.dumps({"bot": {"id": BOT_ID}, "conversation": {"id": CHANNEL},
                                "channelId": "msteams", "serviceUrl": raw["serviceUrl"]})
        await running.store.save_reference("teams", CHANNEL, reference)
        assert await running.bot.post_to_reference(reference, [Reply(text="hi")]) == "refused"
        assert not await running.bot.post(CHANNEL, [Reply(text="hi")])
        outbound = TeamsOutbound(running.bot, running.store)
        result = await outbound.send(CHANNEL, Reply(text="hi"))
        assert result.outcome == "failed" and "serviceUrl" in result.reason
    assert teams_connector.requests == []
    assert no_network == []
    check = service_url_check(Settings(microsoft_app_id=APP_ID).teams)
    for url in ("https://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net/emea/",
                "https://smba.infra.gcc.teams.microsoft.com/", "https://webchat.botframework.com/",
                "https://smba.infra.gov.teams.microsoft.us/"):
        assert check(url), url
    for url in ("http://smba.trafficmanager.net/amer/", "https://evil.trafficmanager.net/amer/",
                "https://smba.trafficmanager.net.evil.example/", "https://botframework.com.evil/",
                "https://x.botframework.com@evil.example/", "https://127.0.0.1/",
                "https://evil.example/?https://smba.trafficmanager.net/"):
        assert not check(url), url


async def test_dev_mode_ignores_tokens_and_stays_offline(
        server: Running, no_network: list[str]) -> None:
    token = unsigned_jwt({"iss": "https://api.botframework.com", "aud": APP_ID})
    raw = server.activity("personal_message.json", text="help")
    status, _ = await server.post(raw, {"Authorization": f"Bearer {token}"})
    assert status == 200
    await server.connector.wait_for(1)
    assert no_network == []


# --- configuration -----------------------------------------------------------------------------


async def test_without_teams_settings_there_is_no_endpoint(library: PlaybookSet) -> None:
    handler = Handler(library, MemoryStore())
    app = build_app(Settings(), handler)
    assert teams.attach(app, handler, Settings().teams) is None
    assert teams.TEAMS_KEY not in app
    assert not any(r.resource is not None and r.resource.canonical == teams.ROUTE
                   for r in app.router.routes())


async def test_post_to_reference_says_how_the_post_ended(server: Running) -> None:
    assert (await server.post(server.activity("conversation_update_bot_added.json")))[0] == 200
    reference = (await server.store.references("teams"))[CHANNEL]
    hello = [Reply(text="hello")]
    assert await server.bot.post_to_reference(reference, hello) == "posted"
    server.connector.fail_next(503, times=FAST.attempts)
    assert await server.bot.post_to_reference(reference, hello) == "failed"
    assert CHANNEL in await server.store.references("teams")
    server.connector.fail_next(403)
    assert await server.bot.post_to_reference(reference, hello) == "gone"
    assert await server.store.references("teams") == {}


def test_dev_mode_warns_loudly_at_start(library: PlaybookSet,
                                        caplog: pytest.LogCaptureFixture) -> None:
    handler = Handler(library, MemoryStore())
    with caplog.at_level(logging.WARNING, logger="touchpoint.teams"):
        bot = teams.attach(build_app(Settings(), handler), handler, Settings(teams_dev=True).teams)
    assert bot is not None and bot.dev_mode
    assert "UNAUTHENTICATED" in caplog.text


async def test_fake_connector_answers_member_lookups(teams_connector: FakeTeamsConnector) -> None:
    """A member lookup (GET .../members/{id}), as a bot asks when a person joins."""
    url = f"{teams_connector.service_url}v3/conversations/{PERSONAL}/members/29%3Auser"
    async with ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        member = await response.json()
    assert member["id"] == "29:user" and member["aadObjectId"] == USER_AAD
    assert teams_connector.requests[-1].kind == "members"


# --- dev mode's limits ---------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "why"), [
    ({"Host": "touchpoint.example.com"}, "Host"),
    ({"Host": "attacker.example:3000"}, "Host"),
    ({"Content-Type": "text/plain"}, "application/json"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "application/json"),
    ({"Origin": "https://attacker.example"}, "Origin"),
    ({"Origin": "null"}, "Origin"),
])
async def test_dev_mode_refuses_what_a_browser_page_could_send(
        server: Running, headers: dict[str, str], why: str) -> None:
    status, text = await server.post(server.activity("personal_message.json", text="help"),
                                     headers)
    assert status == 401 and why in text
    assert server.connector.requests == []


async def test_dev_mode_accepts_local_hosts_and_origins(server: Running) -> None:
    for n, headers in enumerate([{"Host": "localhost:3000"}, {"Host": "[::1]:3000"},
                                 {"Origin": "http://localhost:3978"},
                                 {"Content-Type": "application/json; charset=utf-8"}]):
        raw = server.activity("personal_message.json", text="help", id=f"local-{n}")
        assert (await server.post(raw, headers))[0] == 200, headers
    await server.connector.wait_for(4)


async def test_dev_mode_posts_to_loopback_service_urls_only(server: Running) -> None:
    for url in ("https://smba.trafficmanager.net/amer/", "http://192.0.2.1:3978/",
                "http://localhost.attacker.example/"):
        raw = server.activity("personal_message.json", text="help", serviceUrl=url)
        assert (await server.post(raw))[0] == 401, url
    reference = json.dumps({"bot": {"id": BOT_ID}, "conversation": {"id": CHANNEL},
                            "channelId": "msteams",
                            "serviceUrl": "https://smba.trafficmanager.net/amer/"})
    assert await server.bot.post_to_reference(reference, [Reply(text="hi")]) == "refused"
    assert server.connector.requests == []


# --- what a new user types -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["/touchpoint help", "/Touchpoint help", "@Touchpoint help",
                                  "@touchpoint: help", "/touchpoint", "@FakeBot help"])
async def test_a_leading_command_or_name_is_stripped_in_personal_chat(
        server: Running, text: str) -> None:
    assert (await server.post(server.activity("personal_message.json", text=text)))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert "@Touchpoint list" in post.card_text, post.card_text


async def test_slash_touchpoint_in_a_channel_answers_the_asker_alone(
        server: Running, library: PlaybookSet) -> None:
    """A targeted message: Teams shows it to the asker only, as Slack shows a command's
    answer; its "Share in channel" button posts it for everyone."""
    text, playbook_id = example(library)
    raw = server.activity("message.json", text=f"/touchpoint {text}", entities=[])
    assert (await server.post(raw))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert post.query == {"isTargetedActivity": "true"}
    assert post.body["recipient"]["id"] == raw["from"]["id"]
    assert {"type": "activityTreatment", "treatment": "targeted"} in post.body["entities"]
    assert post.reply_to == raw["id"]
    labels = [a["title"] for a in actions_of(post)]
    assert labels[0] == "Share in channel"
    share = server.activity("message_card_submit.json", value=actions_of(post)[0]["data"],
                            id="share-1")
    assert (await server.post(share))[0] == 200
    posts = await server.connector.wait_for(2)
    assert posts[1].query == {} and "entities" not in posts[1].body
    assert posts[1].conversation == CHANNEL and posts[1].reply_to == ""
    assert library.by_id[playbook_id].title in posts[1].card_text


async def test_a_mention_typed_as_text_is_answered_in_the_thread(
        server: Running, library: PlaybookSet) -> None:
    """Like a picked @mention: guidance for everyone in the thread; what the core keeps
    private (help, list, mute) goes to the asker alone, as on Slack."""
    text, playbook_id = example(library)
    raw = server.activity("message.json", text=f"@Touchpoint {text}", entities=[])
    assert (await server.post(raw))[0] == 200
    help_raw = server.activity("message.json", text="@Touchpoint help", entities=[],
                               id="help-1")
    assert (await server.post(help_raw))[0] == 200
    guidance, help_post = await server.connector.wait_for(2)
    assert guidance.query == {} and guidance.reply_to == raw["id"]
    assert library.by_id[playbook_id].title in guidance.card_text
    assert "Share in channel" not in guidance.card_text
    assert help_post.query == {"isTargetedActivity": "true"}
    assert "@Touchpoint list" in help_post.card_text


async def test_no_share_in_channel_in_a_personal_chat(server: Running,
                                                      library: PlaybookSet) -> None:
    playbook = library.playbooks[0]
    raw = server.activity("personal_message.json", value={ACTION_KEY: "show",
                                                          PLAYBOOK_KEY: playbook.id}, text="")
    assert (await server.post(raw))[0] == 200
    [post] = await server.connector.wait_for(1)
    assert playbook.title in post.card_text
    labels = [a["title"] for a in actions_of(post)]
    assert "Share in channel" not in labels and "Helpful" in labels
