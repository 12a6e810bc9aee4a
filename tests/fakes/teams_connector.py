"""A fake Bot Framework connector: the service a Teams bot posts its replies to.

A real aiohttp server on 127.0.0.1 (OS-assigned port). Activities sent to
`serviceUrl` rewritten to `service_url` land here and are recorded; tests can
script the next answers (429 with Retry-After, 403, 5xx) to exercise retries.
Routes follow the Bot Connector REST API (`/v3/conversations/...`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
HANG_GUARD = 30.0
"""Seconds `wait_for` waits before failing: only there so a broken test ends."""

ERRORS = {
    403: ("BotNotInConversationRoster", "The bot is not part of the conversation roster."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("InternalServerError", "Something went wrong."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
}


@dataclass(frozen=True)
class Recorded:
    """One request the bot made, and what the fake answered."""

    method: str
    kind: str
    """`activities` (a post or reply), `members`, or `other`."""
    conversation: str
    reply_to: str
    """The activity id in `…/activities/{id}` (a reply), else empty."""
    body: dict[str, Any]
    headers: dict[str, str]
    status: int
    query: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
        return None

    @property
    def card_text(self) -> str:
        """Every text run and action title in the card, for loose assertions."""
        card = self.card
        if card is None:
            return ""
        texts = [run.get("text", "") for block in card.get("body", [])
                 for run in block.get("inlines", [])]
        texts += [a.get("title", "") for a in card.get("actions", [])]
        return "\n".join(texts)


@dataclass
class _Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeTeamsConnector:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[_Scripted] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def service_url(self) -> str:
        """A tenant-scoped service URL like Teams' own, pointing here."""
        return f"http://127.0.0.1:{self.port}/amer/{TENANT}/"

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `times` activity posts with `status` (and Retry-After)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self._script.append(_Scripted(status, headers))

    @property
    def posted(self) -> list[Recorded]:
        """Activities the fake accepted (2xx), in order."""
        return [r for r in self.requests if r.kind == "activities" and r.status < 300]

    async def wait_for(self, count: int, timeout: float = HANG_GUARD) -> list[Recorded]:
        """Poll until `count` activities were accepted; fail with what arrived if never."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.posted) < count:
            if loop.time() > deadline:
                seen = [(r.method, r.kind, r.status, r.text or r.card_text[:60])
                        for r in self.requests]
                raise AssertionError(f"expected {count} posted activities, got "
                                     f"{len(self.posted)}: {seen}")
            await asyncio.sleep(0.01)
        return self.posted

    async def _answer(self, request: web.Request) -> web.Response:
        parts = [unquote(p) for p in request.raw_path.split("?", 1)[0].split("/")]
        try:
            at = parts.index("conversations")
        except ValueError:
            return self._record(request, "other", "", "", {}, 404)
        rest = parts[at + 1:]
        conversation = rest[0] if rest else ""
        what = rest[1] if len(rest) > 1 else ""
        target = rest[2] if len(rest) > 2 else ""
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                loaded = json.loads(await request.read())
                body = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                body = {}
        if what == "members" and request.method == "GET":
            self._record(request, "members", conversation, target, body, 200)
            return web.json_response({
                "id": target, "name": "Test User", "givenName": "Test", "surname": "User",
                "aadObjectId": "00000000-1111-2222-3333-444444444444",
                "userPrincipalName": "test.user@example.com", "tenantId": TENANT,
                "userRole": "user",
            })
        if what == "activities" and request.method == "POST":
            scripted = self._script.popleft() if self._script else None
            if scripted is not None:
                self._record(request, "activities", conversation, target, body,
                             scripted.status)
                code, message = ERRORS.get(scripted.status, ("Error", "Error."))
                return web.json_response({"error": {"code": code, "message": message}},
                                         status=scripted.status, headers=scripted.headers)
            self._record(request, "activities", conversation, target, body, 200)
            return web.json_response({"id": f"fake-activity-{next(self._ids)}"})
        self._record(request, "other", conversation, target, body, 404)
        return web.json_response({"error": {"code": "NotFound", "message": "no such route"}},
                                 status=404)

    def _record(self, request: web.Request, kind: str, conversation: str, target: str,
                body: dict[str, Any], status: int) -> web.Response:
        self.requests.append(Recorded(request.method, kind, conversation, target, body,
                                      dict(request.headers), status, dict(request.query)))
        return web.Response(status=status)
