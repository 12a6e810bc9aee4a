"""The routes that report an ended customer call: Touchpoint's own, Gong's and Zoom's.

- `POST /hooks/call-ended`: a CRM or a script, signed as Standard Webhooks
  (TOUCHPOINT_CALL_WEBHOOK_SECRET); the old body-only `X-Touchpoint-Signature`
  only with TOUCHPOINT_WEBHOOK_LEGACY=1, for one release.
- `POST /hooks/gong`: an automation rule's "Fire webhook".
- `POST /hooks/zoom`: a Marketplace app's event subscription.

Each request is checked in the same order: size, signature over the raw bytes
(a bad one is 401 and nothing else happens), content type, body. A good call
is written to the store's outbox before the answer (202), so it is posted even
if this process dies the next moment; the same call re-sent is answered 200
`duplicate` and not queued again. The store being unreachable is a 503: the
sender retries, and nothing was promised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from aiohttp import web

from adapters.bodies import read_body
from bot.calls import Call
from bot.library import PlaybookSet
from bot.routing import Routing
from bot.store import StoreError
from touchpoint import call_signatures, signing
from touchpoint.call_outbox import CallOutbox
from touchpoint.call_payloads import BadPayload, gong_call, zoom_event

log = logging.getLogger("touchpoint.webhooks")

ROUTE = "/hooks/call-ended"
GONG_ROUTE = "/hooks/gong"
ZOOM_ROUTE = "/hooks/zoom"
HEADER = "X-Touchpoint-Signature"
"""The old body-only signature, accepted with TOUCHPOINT_WEBHOOK_LEGACY=1."""
MAX_BODY = 64 * 1024
MAX_CALL_BODY = 1024 * 1024
"""Gong's callData with its CRM context and content can be large."""
_LIMITS = {"channel": 256, "customer": 200, "summary": 4000, "owner": 200}

Clock = Callable[[], float]


class BadBody(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}" if field else problem)


def parse_call(body: bytes, platforms: frozenset[str], delivery: str = "") -> Call:
    """Touchpoint's own body, or `BadBody` naming the first wrong field; unknown fields are
    ignored, so a sender may post its own payload with ours added."""
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
    owner = found["owner"]
    return Call("hook", delivery, found["customer"], texts=(found["summary"],),
                owner="" if "@" in owner and " " not in owner else owner,
                owner_email=owner.lower() if "@" in owner and " " not in owner else "",
                platform=found["platform"], channel=found["channel"], crm_owner=owner)


@dataclass(frozen=True)
class HookSecrets:
    call: str = ""
    """TOUCHPOINT_CALL_WEBHOOK_SECRET, or TOUCHPOINT_WEBHOOK_SECRET: no call-ended route
    without one."""
    legacy: str = ""
    """The secret old senders sign the body with (`X-Touchpoint-Signature`), with
    TOUCHPOINT_WEBHOOK_LEGACY=1; empty: the old signature is refused."""
    gong_public_key: str = ""
    gong_url_key: str = ""
    zoom: str = ""


def _answer(code: int, **body: str) -> web.Response:
    return web.json_response(body, status=code)


def _is_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


class CallHooks:
    def __init__(self, outbox: CallOutbox, secrets: HookSecrets, platforms: frozenset[str],
                 playbooks: Callable[[], PlaybookSet], routing: Callable[[], Routing],
                 clock: Clock = time.time) -> None:
        self._outbox = outbox
        self._secrets = secrets
        self._platforms = platforms
        self._playbooks = playbooks
        self._routing = routing
        self._clock = clock
        self._call_key = call_signatures.webhook_key(secrets.call) if secrets.call else b""
        self._gong_key = (call_signatures.load_public_key(secrets.gong_public_key)
                          if secrets.gong_public_key else None)

    # POST /hooks/call-ended

    async def call_ended(self, request: web.Request) -> web.Response:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _answer(413, error=f"the body is larger than {MAX_BODY} bytes")
        delivery = self._verify_call_ended(request, body)
        if delivery is None:
            return _answer(401, error="invalid signature")
        if not _is_json(request):
            return _answer(400, error="Content-Type must be application/json")
        try:
            call = parse_call(body, self._platforms, delivery)
        except BadBody as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
        return await self._accept(call)

    def _verify_call_ended(self, request: web.Request, body: bytes) -> str | None:
        """The delivery's id when it is signed; None (logged) when it is not."""
        headers = request.headers
        if "webhook-signature" in headers or not self._secrets.legacy:
            problem = call_signatures.check_webhook(self._call_key, _lower(headers), body,
                                                    self._clock())
            if problem is None:
                return headers["webhook-id"].strip()
            log.warning("refused %s from %s: %s", ROUTE, request.remote, problem)
            return None
        if signing.verify(self._secrets.legacy, body, headers.get(HEADER)):
            log.warning("%s: accepted a request signed the old way (%s); move the sender to "
                        "Standard Webhooks before TOUCHPOINT_WEBHOOK_LEGACY goes away",
                        ROUTE, HEADER)
            return "legacy-" + hashlib.sha256(body).hexdigest()[:32]
        log.warning("refused %s from %s: bad or missing %s", ROUTE, request.remote, HEADER)
        return None

    # POST /hooks/gong

    async def gong(self, request: web.Request) -> web.Response:
        body = await read_body(request, MAX_CALL_BODY)
        if body is None:
            return _answer(413, error=f"the body is larger than {MAX_CALL_BODY} bytes")
        problem = self._verify_gong(request, body)
        if problem:
            log.warning("refused %s from %s: %s", GONG_ROUTE, request.remote, problem)
            return _answer(401, error="invalid signature")
        if not _is_json(request):
            return _answer(400, error="Content-Type must be application/json")
        try:
            found = gong_call(body)
        except BadPayload as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
        if found.is_test:
            log.info("gong: a test delivery of the rule (call %s) was received", found.call.id)
            return _answer(200, status="test")
        if not found.external:
            return _answer(200, status="ignored", reason="not a customer call")
        return await self._accept(found.call)

    def _verify_gong(self, request: web.Request, body: bytes) -> str | None:
        if self._gong_key is not None:
            problem = call_signatures.check_gong(self._gong_key, request.headers.get(
                "Authorization"), body, str(request.rel_url), self._clock())
            if problem is None or not self._secrets.gong_url_key:
                return problem
        return call_signatures.check_url_key(self._secrets.gong_url_key,
                                             request.query.get("key"))

    # POST /hooks/zoom

    async def zoom(self, request: web.Request) -> web.Response:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _answer(413, error=f"the body is larger than {MAX_BODY} bytes")
        problem = call_signatures.check_zoom(self._secrets.zoom, _lower(request.headers), body,
                                             self._clock())
        if problem:
            log.warning("refused %s from %s: %s", ZOOM_ROUTE, request.remote, problem)
            return _answer(401, error="invalid signature")
        if not _is_json(request):
            return _answer(400, error="Content-Type must be application/json")
        try:
            event = zoom_event(body)
        except BadPayload as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
        if event.event == "endpoint.url_validation":
            encrypted = call_signatures.zoom_challenge(self._secrets.zoom, event.plain_token)
            return _answer(200, plainToken=event.plain_token, encryptedToken=encrypted)
        if event.call is None:
            return _answer(200, status="ignored", reason=f"{event.event} is not used")
        host = self._routing().zoom_hosts.get(event.call.host)
        reads_as_call = self._playbooks().matcher.match(event.topic, "guide").best is not None
        if not reads_as_call and not (host is not None and host.every_meeting):
            return _answer(200, status="ignored", reason="not a customer call")
        call = event.call
        if host is not None:
            call = replace(call, owner_email=host.email)
        return await self._accept(call)

    async def _accept(self, call: Call) -> web.Response:
        try:
            queued = await self._outbox.accept(call)
        except StoreError as exc:  # nothing was promised
            log.warning("calls: cannot queue %s (%s: %s); answering 503", call.key,
                        type(exc).__name__, exc)
            return _answer(503, error="cannot take the call just now; please retry")
        if queued == "known":
            return _answer(200, status="duplicate")
        if queued == "full":
            log.error("calls: the outbox is full (%d waiting); answering 503",
                      self._outbox.settings.limit)
            return _answer(503, error="too many calls waiting; please retry")
        log.info("calls: accepted %s", call.key)
        return _answer(202, status="accepted")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def attach(app: web.Application, outbox: CallOutbox, secrets: HookSecrets,
           platforms: frozenset[str], playbooks: Callable[[], PlaybookSet],
           routing: Callable[[], Routing]) -> CallHooks:
    """Serve each route only with its secret: an unsigned nudge endpoint would let anyone post.
    The outbox's worker runs with the app."""
    hooks = CallHooks(outbox, secrets, platforms, playbooks, routing)
    if secrets.call:
        app.router.add_post(ROUTE, hooks.call_ended)
    else:
        log.info("calls: no %s route (set TOUCHPOINT_CALL_WEBHOOK_SECRET)", ROUTE)
    if secrets.gong_public_key or secrets.gong_url_key:
        app.router.add_post(GONG_ROUTE, hooks.gong)
    if secrets.zoom:
        app.router.add_post(ZOOM_ROUTE, hooks.zoom)

    async def start(_: web.Application) -> None:
        outbox.start()

    async def stop(_: web.Application) -> None:
        await outbox.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return hooks
