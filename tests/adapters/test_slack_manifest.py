"""The shipped Slack app manifest asks for exactly what the adapter listens to and uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from adapters.slack import app as slack
from adapters.slack import oauth as slack_oauth
from adapters.slack.home import SHORTCUT_ID

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yaml"

NEEDS = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "member_joined_channel": "channels:read",
    "app_home_opened": "chat:write",
}
UNINSTALLS = {"app_uninstalled", "tokens_revoked"}
"""Events Slack sends without a scope; served when installed in many workspaces."""


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_one_url_for_events_the_command_and_buttons() -> None:
    m = manifest()
    urls = {m["settings"]["event_subscriptions"]["request_url"],
            m["settings"]["interactivity"]["request_url"],
            *(c["url"] for c in m["features"]["slash_commands"])}
    assert len(urls) == 1
    assert urls.pop().endswith(slack.EVENTS_PATH)
    assert m["settings"]["interactivity"]["is_enabled"] is True


def test_the_command_and_events_the_issue_names() -> None:
    m = manifest()
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/touchpoint"]
    events = m["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(NEEDS) | UNINSTALLS
    assert m["features"]["app_home"]["messages_tab_enabled"] is True  # DMs need the tab


def test_every_event_has_its_scope_and_nothing_more_is_asked() -> None:
    m = manifest()
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    assert set(NEEDS.values()) <= scopes
    assert scopes - set(NEEDS.values()) == {"groups:read", "commands", "users:read.email"}


def test_call_owners_can_be_found_by_e_mail() -> None:
    assert "users:read.email" in manifest()["oauth_config"]["scopes"]["bot"]


def test_socket_mode_is_a_flag_to_turn_on() -> None:
    assert manifest()["settings"]["socket_mode_enabled"] is False
    assert "socket_mode_enabled to true" in MANIFEST.read_text()


def test_the_message_shortcut_is_the_one_the_adapter_listens_for() -> None:
    shortcuts = manifest()["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("message", SHORTCUT_ID)]
    assert shortcuts[0]["name"] == "Find a playbook for this message"


def test_the_home_tab_is_on_and_its_event_subscribed() -> None:
    m = manifest()
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in m["settings"]["event_subscriptions"]["bot_events"]
    scopes = m["oauth_config"]["scopes"]["bot"]
    assert {"channels:read", "groups:read"} <= set(scopes)  # users.conversations


def test_org_wide_installs_are_allowed_and_uninstalls_heard() -> None:
    m = manifest()
    assert m["settings"]["org_deploy_enabled"] is True
    assert UNINSTALLS <= set(m["settings"]["event_subscriptions"]["bot_events"])
    assert set(m["oauth_config"]["scopes"]["bot"]) == set(slack_oauth.SCOPES)
