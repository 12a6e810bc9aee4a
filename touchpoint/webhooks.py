"""`POST /hooks/call-ended`: a CRM, calendar or call recorder says a customer call ended.

The caller signs the raw body with TOUCHPOINT_WEBHOOK_SECRET (`X-Touchpoint-Signature:
sha256=<hex HMAC-SHA256>`); the signature is checked before the body is even
parsed, so an unsigned request costs nothing and causes nothing. A good request
is answered 202 at once, because senders time out after a few seconds; the
post-call nudge is then built by the core and posted in the background. The
same body sent again within a day (a sender's retry) is posted once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from aiohttp import web

from adapters.bodies import read_body
from adapters.outbound import Outbound
from bot.handler import Handler
from bot.messages import Message, Platform, Reply
from touchpoint import signing

log = logging.getLogger("touchpoint.webhooks")

ROUTE = "/hooks/call-ended"
HEADER = "X-Touchpoint-Signature"
MAX_BODY = 64 * 1024
ATTEMPTS = 3
MAX_WAIT = 30.0
DRAIN_TIMEOUT = 10.0
_LIMITS = {"channel": 256, "customer": 200, "summary": 4000, "owner": 200}


@dataclass(frozen=True)
class CallEnded:
    platform: Platform
    channel: str
    customer: str
    summary: str
    owner: str = ""


class BadBody(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}" if field else problem)


def parse_call(body: bytes, platforms: frozenset[str]) -> CallEnded:
    """The body's fields, or `BadBody` naming the first wrong one; unknown fields are ignored,
    so a sender may post its own payload with ours added."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadBody("", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadBody("", 'the body must be a JSON object: {"platform": ..., "channel": ...}')
    found: dict[str, str] = {}
    for name in ("platform", "channel", "customer", "summary", "owner"):
        value = data.get(name)
        if value is None and name == "owner":
            value = ""
        if value is None:
            raise BadBody(name, "is required")
        if not isinstance(value, str):
            raise BadBody(name, "must be a string")
        value = value.strip()
        if name in _LIMITS and len(value) > _LIMITS[name]:
            raise BadBody(name, f"must be at most {_LIMITS[name]} characters")
        if not value and name != "owner":
            raise BadBody(name, "must not be empty")
        found[name] = value
    if found["platform"] not in ("slack", "teams"):
        raise BadBody("platform", "must be slack or teams")
    if found["platform"] not in platforms:
        raise BadBody("platform", f"{found['platform']} is not enabled on this server")
    if any(c.isspace() for c in found["channel"]):
        raise BadBody("channel", "must be a channel or conversation id, without spaces")
    platform: Platform = "slack" if found["platform"] == "slack" else "teams"
    return CallEnded(platform, found["channel"], found["customer"], found["summary"],
                     found["owner"])


class CallEndedHook:
    def __init__(self, handler: Handler, outbounds: Mapping[str, Outbound], secret: str) -> None:
        self._handler = handler
        self._outbounds = outbounds
        self._secret = secret
        self._tasks: set[asyncio.Task[None]] = set()

    async def receive(self, request: web.Request) -> web.Response:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return web.json_response({"error": f"the body is larger than {MAX_BODY} bytes"},
                                     status=413)
        if not signing.verify(self._secret, body, request.headers.get(HEADER)):
            log.warning("refused %s from %s: bad or missing %s", ROUTE, request.remote, HEADER)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            call = parse_call(body, frozenset(self._outbounds))
        except BadBody as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
        task = asyncio.create_task(self._nudge(call, hashlib.sha256(body).hexdigest()[:32]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"status": "accepted"}, status=202)

    async def _nudge(self, call: CallEnded, digest: str) -> None:
        message = Message(text=call.summary, user=call.owner, channel=call.channel,
                          platform=call.platform, kind="call_ended", id=f"call-ended:{digest}",
                          value=call.customer)
        try:
            replies = await self._handler.handle(message)
        except Exception:  # the core's bug must not go unnoticed, nor stop the server
            log.exception("call-ended: could not build the nudge for %s", call.channel)
            return
        outbound = self._outbounds[call.platform]
        for reply in replies:
            await self._post(outbound, call.channel, replace(reply, channel=call.channel))

    async def _post(self, outbound: Outbound, channel: str, reply: Reply) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            result = await outbound.send(channel, reply)
            if result.outcome == "posted":
                return
            wait = result.retry_after if result.retry_after is not None else 2.0 ** attempt
            if result.outcome != "retry" or attempt == ATTEMPTS or wait > MAX_WAIT:
                log.error("call-ended: could not post to %s:%s (%s)", outbound.platform,
                          channel, result.reason)
                return
            log.warning("call-ended: posting to %s: %s; retrying in %.1f s", channel,
                        result.reason, wait)
            await asyncio.sleep(wait)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Let the nudges already accepted finish posting, for up to `timeout` seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()


def attach(app: web.Application, handler: Handler, outbounds: Mapping[str, Outbound],
           secret: str) -> CallEndedHook | None:
    """Serve the route only with a secret: an unsigned nudge endpoint would let anyone post."""
    if not secret:
        log.info("call-ended: no %s route (set TOUCHPOINT_WEBHOOK_SECRET to accept it)", ROUTE)
        return None
    hook = CallEndedHook(handler, outbounds, secret)
    app.router.add_post(ROUTE, hook.receive)

    async def stop(_: web.Application) -> None:
        await hook.drain()

    app.on_shutdown.append(stop)
    return hook
