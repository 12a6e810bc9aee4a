"""Webhook signatures: whatever a sender puts in the header, a wrong one is refused, never a
crash (over real HTTP, bytes no client library would send included)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fakes.slack_api import FakeSlackAPI
from raw_http import raw_request
from test_webhooks import SECRET, call, serving

from bot.playbook_set import PlaybookSet
from touchpoint import signing, webhooks

STRANGE = [b"sha256=\xff\xfe", "sha256=²²".encode(), b"sha256=" + b"9" * 5000, b"\xc3\x28",
           "sha256=é".encode() * 100]


def test_a_signature_holding_undecodable_bytes_is_refused() -> None:
    body = b"{}"
    assert signing.verify(SECRET, body, signing.sign(SECRET, body))
    for signature in STRANGE:
        assert not signing.verify(SECRET, body, signature.decode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("signature", STRANGE)
async def test_strange_signature_headers_are_401_never_a_crash(
        library: PlaybookSet, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture,
        signature: bytes) -> None:
    body = json.dumps(call()).encode()
    async with serving(library, slack_api) as hook:
        status, _ = await raw_request(hook.url, "POST", webhooks.ROUTE, [
            ("Content-Type", b"application/json"), (webhooks.HEADER, signature)], body)
    assert status == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert slack_api.posts() == []


def _now() -> bytes:
    return str(int(time.time())).encode()


@pytest.mark.parametrize(("path", "headers"), [
    (webhooks.ROUTE, [("webhook-id", b"msg_1"), ("webhook-timestamp", "²²".encode()),
                      ("webhook-signature", b"v1,AAAA")]),
    (webhooks.ROUTE, [("webhook-id", b"msg_\xff"), ("webhook-timestamp", None),
                      ("webhook-signature", b"v1,\xff\xfe")]),
    (webhooks.ROUTE, [("webhook-id", b"msg_1"), ("webhook-timestamp", b"9" * 5000),
                      ("webhook-signature", b"v1," + b"9" * 5000)]),
    ("/hooks/zoom", [("x-zm-request-timestamp", "²".encode()), ("x-zm-signature", b"v0=00")]),
    ("/hooks/zoom", [("x-zm-request-timestamp", None), ("x-zm-signature", b"v0=\xff\xfe")]),
    ("/hooks/gong", [("Authorization", b"Bearer \xff\xfe.\xff.\xff")]),
])
async def test_call_senders_strange_headers_are_401_never_a_crash(
        library: PlaybookSet, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture,
        path: str, headers: list[tuple[str, bytes | None]]) -> None:
    body = json.dumps(call()).encode()
    sent = [(name, _now() if value is None else value) for name, value in headers]
    async with serving(library, slack_api) as hook:
        status, _ = await raw_request(hook.url, "POST", path,
                                      [("Content-Type", b"application/json"), *sent], body)
    assert status == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert slack_api.posts() == []
