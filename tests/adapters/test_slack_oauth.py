"""Touchpoint installed in many Slack workspaces: bolt's OAuth install over HTTP, tokens kept
encrypted in Redis, each workspace answered and prompted with its own token and pace, and
an uninstall deleting that workspace's tokens and pausing its prompts only."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fakes.slack_api import CLIENT_ID, CLIENT_SECRET, FakeSlackAPI
from oauth_harness import (
    ONE,
    ORG,
    TWO,
    Served,
    authorization,
    install_settings,
    post_prompt,
    serving,
    two_teams,
)
from redis.asyncio import Redis
from slack_harness import SECRET, message_event

from adapters.redis_store import RedisStore
from adapters.slack.installations import (
    InstallationStore,
    MemoryRecords,
    StateStore,
    TokenKeyError,
    token_cipher,
)
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from touchpoint.settings import Settings, SettingsError


@pytest.fixture
async def served(slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
                 redis_prefix: str, redis_store: RedisStore) -> AsyncIterator[Served]:
    async with two_teams(slack_api, library, redis_url, redis_prefix, redis_store) as running:
        yield running


async def test_two_workspaces_install_and_each_is_answered_with_its_own_token(
        served: Served, slack_api: FakeSlackAPI, redis_url: str, redis_prefix: str) -> None:
    assert await served.install("code-one") == 200
    assert await served.install("code-two") == 200
    assert await served.command("help", ONE, "C0ONE") == 200
    assert await served.command("help", TWO, "C0TWO") == 200
    await served.adapter.drain()
    tokens = {c.body["channel"]: authorization(c) for c in slack_api.posts()}
    assert tokens == {"C0ONE": f"Bearer {ONE.token}", "C0TWO": f"Bearer {TWO.token}"}
    assert [c.body.get("code") for c in slack_api.calls("oauth.v2.access")] == [
        "code-one", "code-two"]
    async with Redis.from_url(redis_url) as raw:
        keys = [k async for k in raw.scan_iter(match=redis_prefix + "slack:installs:*")]
        assert sorted(keys) == [f"{redis_prefix}slack:installs:-:{t}".encode()
                                for t in ("T0ONE", "T0TWO")]
        for key in keys:
            kept = await raw.hgetall(key)
            assert {b"installation", b"bot", b"user:U0INSTALLER"} <= set(kept)
            for value in kept.values():
                assert b"xoxb" not in value and b"U0ONEBOT" not in value
        everything = [await raw.dump(k) async for k in raw.scan_iter(match=redis_prefix + "*")]
        assert not any(ONE.token.encode() in (d or b"") for d in everything)


async def test_a_mention_is_recognised_with_the_bot_user_of_its_workspace(
        served: Served, slack_api: FakeSlackAPI) -> None:
    await served.install("code-two")
    event = message_event("<@U0TWOBOT> help", channel="C0TWO", event_id="Ev0TWO1")
    event.update(team_id=TWO.team_id, authorizations=[
        {"enterprise_id": None, "team_id": TWO.team_id, "user_id": TWO.bot_user,
         "is_bot": True, "is_enterprise_install": False}])
    event["event"].update(type="app_mention", team=TWO.team_id)
    assert await served.event(event) == 200
    await served.adapter.drain()
    posted = slack_api.posts()
    assert [authorization(c) for c in posted] == [f"Bearer {TWO.token}"]
    assert not slack_api.calls("auth.test")[1:]  # only the install's own auth.test


async def test_a_forged_missing_or_replayed_state_is_refused(
        served: Served, slack_api: FakeSlackAPI) -> None:
    status, page, cookie = await served.get("/slack/install")
    state = re.search(r"state=([A-Za-z0-9_-]+)", page)
    assert state is not None
    good = state.group(1)
    forged, _, _ = await served.get("/slack/oauth_redirect?code=code-one&state=forged",
                                    cookie="forged")
    missing, _, _ = await served.get("/slack/oauth_redirect?code=code-one")
    other_browser, _, _ = await served.get(
        f"/slack/oauth_redirect?code=code-one&state={good}")
    assert (forged, missing, other_browser) == (401, 400, 400)
    assert not slack_api.calls("oauth.v2.access")
    first, _, _ = await served.get(f"/slack/oauth_redirect?code=code-one&state={good}",
                                   cookie=good)
    replayed, _, _ = await served.get(f"/slack/oauth_redirect?code=code-one&state={good}",
                                      cookie=good)
    assert (first, replayed) == (200, 401)
    assert len(slack_api.calls("oauth.v2.access")) == 1


async def test_a_state_issued_by_one_instance_is_taken_by_another(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
        redis_prefix: str, redis_store: RedisStore) -> None:
    _, page, _ = await served.get("/slack/install")
    state = re.search(r"state=([A-Za-z0-9_-]+)", page)
    assert state is not None
    other_settings = served.settings
    async with serving(slack_api, library, other_settings, redis_store) as other:
        back, _, _ = await other.get(
            f"/slack/oauth_redirect?code=code-one&state={state.group(1)}",
            cookie=state.group(1))
        assert back == 200
        assert await other.command("help", ONE, "C0ONE") == 200
        await other.adapter.drain()
    assert await served.command("help", ONE, "C0ONE") == 200  # the first instance reads it too
    await served.adapter.drain()
    assert [authorization(c) for c in slack_api.posts()] == [f"Bearer {ONE.token}"] * 2


async def test_each_workspaces_prompts_carry_its_token_and_its_own_pace(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
        redis_prefix: str) -> None:
    await served.install("code-one")
    await served.install("code-two")
    assert await served.command("subscribe 09:00 UTC", ONE, "C0ONE") == 200
    assert await served.command("subscribe 09:00 UTC", TWO, "C0TWO") == 200
    await served.adapter.drain()
    assert set(await served.store.for_team("-:T0ONE").subscriptions("slack")) == {"C0ONE"}
    assert set(await served.store.for_team("-:T0TWO").subscriptions("slack")) == {"C0TWO"}
    assert await served.store.subscriptions("slack") == {}
    assert await post_prompt(served, library, "C0ONE") == "posted"
    assert await post_prompt(served, library, "C0TWO") == "posted"
    prompts = {c.body["channel"]: authorization(c) for c in slack_api.delivered()}
    assert prompts == {"C0ONE": f"Bearer {ONE.token}", "C0TWO": f"Bearer {TWO.token}"}
    async with Redis.from_url(redis_url) as raw:
        paces = sorted([k.decode().removeprefix(redis_prefix)
                        async for k in raw.scan_iter(match=redis_prefix + "*pace*")])
    assert paces and all(re.search(r"rate:slack:-:T0(ONE|TWO)$", p) for p in paces)
    assert {p[-5:] for p in paces} == {"T0ONE", "T0TWO"}


async def test_uninstalling_one_workspace_deletes_its_tokens_and_pauses_it_only(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
        redis_prefix: str) -> None:
    await served.install("code-one")
    await served.install("code-two")
    for team, channel in ((ONE, "C0ONE"), (TWO, "C0TWO")):
        assert await served.command("subscribe 09:00 UTC", team, channel) == 200
    await served.adapter.drain()
    uninstalled = {"token": "x", "team_id": ONE.team_id, "api_app_id": "A0FAKEAPP",
                   "type": "event_callback", "event_id": "Ev0GONE", "event_time": 1,
                   "event": {"type": "app_uninstalled"}}
    assert await served.event(uninstalled) == 200
    await served.adapter.drain()
    installations = served.installs.installations
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0ONE") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0TWO") is not None
    async with Redis.from_url(redis_url) as raw:
        assert not await raw.exists(f"{redis_prefix}slack:installs:-:T0ONE")
    assert set(await served.store.for_team("-:T0ONE").flagged("slack")) == {"C0ONE"}
    assert await served.store.for_team("-:T0TWO").flagged("slack") == {}
    assert await post_prompt(served, library, "C0TWO") == "posted"
    assert [authorization(c) for c in slack_api.delivered()] == [f"Bearer {TWO.token}"]
    assert await served.command("help", ONE, "C0ONE",
                                response_url=slack_api.response_url()) == 200
    await served.adapter.drain()
    *answered, told = slack_api.posts()
    assert len(answered) == 3  # two subscribe answers, one prompt
    assert told.method == "response_url" and "reinstall" in json.dumps(told.body)
    assert await post_prompt(served, library, "C0YAML", team="-:T0ONE") == "gone"
    assert (await served.store.for_team("-:T0ONE").flagged("slack"))["C0YAML"] == (
        "Touchpoint is not installed in workspace -:T0ONE")

    slack_api.add_team(ONE, "code-one-again")
    assert await served.install("code-one-again") == 200
    assert await served.store.for_team("-:T0ONE").flagged("slack") == {}


async def test_revoked_bot_tokens_are_deleted_and_a_revoked_user_token_only_its_own(
        served: Served) -> None:
    await served.install("code-two")
    installations = served.installs.installations

    def revoked(tokens: dict[str, list[str]]) -> dict[str, Any]:
        return {"token": "x", "team_id": TWO.team_id, "api_app_id": "A0FAKEAPP",
                "type": "event_callback", "event_id": f"Ev0REV{len(tokens)}", "event_time": 1,
                "event": {"type": "tokens_revoked", "tokens": tokens}}

    assert await served.event(revoked({"oauth": ["U0INSTALLER"]})) == 200
    assert await installations.async_find_installation(
        enterprise_id=None, team_id="T0TWO", user_id="U0INSTALLER") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0TWO") is not None
    assert await served.event(revoked({"oauth": [], "bot": [TWO.bot_user]})) == 200
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0TWO") is None
    assert await installations.async_find_installation(enterprise_id=None,
                                                       team_id="T0TWO") is None


async def test_an_org_wide_install_answers_every_workspace_of_the_org(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    slack_api.add_team(ORG, "code-org")
    assert await served.install("code-org") == 200
    assert await served.command("subscribe 09:00 UTC", ORG, "C0ORGA",
                                workspace="T0ORGA") == 200
    assert await served.command("help", ORG, "C0ORGB", workspace="T0ORGB") == 200
    await served.adapter.drain()
    assert {c.body["channel"]: authorization(c) for c in slack_api.posts()} == {
        "C0ORGA": f"Bearer {ORG.token}", "C0ORGB": f"Bearer {ORG.token}"}
    assert await post_prompt(served, library, "C0ORGA") == "posted"
    assert authorization(slack_api.delivered("C0ORGA")[-1]) == f"Bearer {ORG.token}"
    uninstalled = {"token": "x", "team_id": "E0ORG", "enterprise_id": "E0ORG",
                   "is_enterprise_install": True, "api_app_id": "A0FAKEAPP",
                   "type": "event_callback", "event_id": "Ev0ORGGONE", "event_time": 1,
                   "event": {"type": "app_uninstalled"}}
    assert await served.event(uninstalled) == 200
    assert await served.installs.installations.async_find_bot(
        enterprise_id="E0ORG", team_id="T0ORGA") is None
    assert set(await served.store.for_team("E0ORG:T0ORGA").flagged("slack")) == {"C0ORGA"}


async def test_in_one_process_the_stores_live_in_memory(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    slack_api.add_team(ONE, "code-one")
    async with serving(slack_api, library, install_settings(slack_api), MemoryStore()) as one:
        assert await one.install("code-one") == 200
        assert await one.command("help", ONE, "C0ONE") == 200
        await one.adapter.drain()
    assert [authorization(c) for c in slack_api.posts()] == [f"Bearer {ONE.token}"]


async def test_an_unreadable_record_is_treated_as_not_installed() -> None:
    records = MemoryRecords()
    old = InstallationStore(records, token_cipher(Fernet.generate_key().decode()))
    from slack_sdk.oauth.installation_store.models.installation import Installation

    await old.async_save(Installation(user_id="U1", team_id="T1", bot_token="xoxb-1",
                                      bot_user_id="U0BOT", bot_id="B1"))
    assert await old.async_find_bot(enterprise_id=None, team_id="T1") is not None
    rekeyed = InstallationStore(records, token_cipher(Fernet.generate_key().decode()))
    assert await rekeyed.async_find_bot(enterprise_id=None, team_id="T1") is None


async def test_a_memory_state_is_good_once_and_until_it_expires() -> None:
    now = [0.0]
    states = StateStore(None, "p:", expiration=60, clock=lambda: now[0])
    first, second = await states.async_issue(), await states.async_issue()
    assert await states.async_consume(first)
    assert not await states.async_consume(first)
    now[0] = 61.0
    assert not await states.async_consume(second)
    assert not await states.async_consume("")


def test_the_token_key_is_checked_at_start() -> None:
    with pytest.raises(TokenKeyError, match="TOUCHPOINT_TOKEN_KEY.*Fernet.generate_key"):
        token_cipher("not a key")
    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_SIGNING_SECRET": SECRET}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**env, "TOUCHPOINT_TOKEN_KEY": "short"})
    assert "TOUCHPOINT_TOKEN_KEY: must be 32 url-safe base64-encoded bytes" in str(raised.value)
    key = Fernet.generate_key().decode()
    settings = Settings.from_env({**env, "TOUCHPOINT_TOKEN_KEY": key})
    assert settings.slack_install is not None and settings.slack_bot_token == ""
    assert key not in repr(settings) and CLIENT_SECRET not in repr(settings)


@pytest.mark.parametrize(("extra", "problem"), [
    ({"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_BOT_TOKEN: must not be set with SLACK_CLIENT_ID"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID"),
    ({"SLACK_CLIENT_SECRET": ""}, "SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID"),
    ({"SLACK_CLIENT_ID": "abc"}, "SLACK_CLIENT_ID='abc': must be the app's Client ID"),
    ({"SLACK_REDIRECT_URI": "https://x.example/elsewhere"},
     "SLACK_REDIRECT_URI='https://x.example/elsewhere': must be an http(s) URL ending in"),
    ({"SLACK_SCOPES": "chat:write, no way"}, "SLACK_SCOPES: 'no way' are not scopes"),
    ({"SLACK_STATE_EXPIRATION_SECONDS": "5"}, "SLACK_STATE_EXPIRATION_SECONDS='5': must be"),
])
def test_install_settings_say_what_is_wrong(extra: dict[str, str], problem: str) -> None:
    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_SIGNING_SECRET": SECRET, "TOUCHPOINT_TOKEN_KEY": Fernet.generate_key().decode(),
           **extra}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert problem in str(raised.value)


async def test_with_redis_unreachable_an_install_is_refused_and_the_server_keeps_serving(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    settings = install_settings(slack_api, redis_url="redis://127.0.0.1:1/0")
    async with serving(slack_api, library, settings, MemoryStore()) as down:
        status, page, cookie = await down.get("/slack/install")
        assert (status, cookie) == (503, "") and "try again" in page
        back, _, _ = await down.get("/slack/oauth_redirect?code=c&state=s", cookie="s")
        assert back == 500
        async with down.http.get(down.url + "/healthz") as resp:
            assert resp.status in (200, 503)
