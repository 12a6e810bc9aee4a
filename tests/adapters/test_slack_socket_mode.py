"""Slack over Socket Mode: the same payloads arrive as websocket envelopes from the fake Slack."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fakes.slack_api import FakeSlackAPI
from slack_harness import (
    APP_TOKEN,
    Touchpoint,
    action_payload,
    command_body,
    message_event,
    running,
    texts_that_match,
)

from bot.playbook_set import PlaybookSet


def envelope(kind: str, payload: dict[str, Any], number: int, retry: int = 0) -> dict[str, Any]:
    """What Slack sends over the websocket: the HTTP body, wrapped with an envelope id."""
    return {
        "envelope_id": f"00000000-0000-4000-8000-{number:012d}",
        "type": kind,
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }


async def healthy(tp: Touchpoint) -> bool:
    """The client marks itself connected just after Slack sees the socket: poll, bounded."""
    deadline = time.monotonic() + 10
    while (await tp.get("/healthz"))[1]["slack"] != "ok":
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_socket_mode_answers_events_commands_and_buttons(
        slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    text, playbook_id = texts_that_match(library, "nudge")[0]
    async with running(slack_api, library, http=False, socket_mode=True,
                       slack_app_token=APP_TOKEN, slack_signing_secret="") as tp:
        await slack_api.wait_socket()
        opened = slack_api.calls("apps.connections.open")
        assert opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
        assert await healthy(tp)

        event = message_event(text)
        await slack_api.socket_send(envelope("events_api", event, 1))
        await slack_api.socket_send(envelope("events_api", event, 2, retry=1))
        nudge = (await slack_api.wait_for("chat.postMessage"))[0]

        command = dict(parse_qsl(command_body("help").decode()))
        await slack_api.socket_send(envelope("slash_commands", command, 3))
        helped = (await slack_api.wait_for("chat.postEphemeral"))[0]

        press = action_payload("show", playbook_id, thread_ts=event["event"]["ts"])
        await slack_api.socket_send(envelope("interactive", press, 4))
        shown = (await slack_api.wait_for("chat.postEphemeral", 2))[1]

        acks = await slack_api.wait_for("socket_mode.ack", 4)
        await tp.settle()
        events_route = await tp.post(b"{}", {"Content-Type": "application/json"})
    assert {a.body["envelope_id"][-1] for a in acks} == {"1", "2", "3", "4"}
    assert nudge.body["thread_ts"] == event["event"]["ts"]
    assert len(slack_api.calls("chat.postMessage")) == 1  # the retried envelope: no second nudge
    assert "/touchpoint list" in helped.body["blocks"][-1]["text"]["text"]
    assert shown.body["thread_ts"] == event["event"]["ts"]
    assert events_route.status == 404  # Socket Mode only: no HTTP route to attack


async def test_a_rejected_app_token_is_one_clear_log_line(
        slack_api: FakeSlackAPI, library: PlaybookSet, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="touchpoint.slack")
    slack_api.fail("apps.connections.open", "invalid_auth")
    async with running(slack_api, library, socket_mode=True, slack_app_token=APP_TOKEN) as tp:
        await slack_api.wait_for("apps.connections.open")
        await tp.settle()
        _, health = await tp.get("/healthz")
        answer = await tp.command("help")  # HTTP keeps working
        await slack_api.wait_for("chat.postEphemeral")
    assert "Socket Mode refused (invalid_auth): check SLACK_APP_TOKEN" in caplog.text
    assert health["slack"] == "socket mode not connected"
    assert answer.status == 200
