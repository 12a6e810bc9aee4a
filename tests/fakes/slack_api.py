"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records every call.

It runs on its own thread and event loop, so one server started for the whole
session serves every test, whatever event loop the test itself runs on. By
default it answers like Slack (the canned bodies in
`tests/fixtures/slack/api_responses.json`); a test can script the next
answers of a method: an `ok: false` error, a 429 with `Retry-After`, a 500,
or hold the answer until released. It also serves `response_url` posts and a
Socket Mode websocket, so those paths never leave the machine either.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

RESPONSES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "slack" / "api_responses.json").read_text()
)


@dataclass(frozen=True)
class Call:
    """One request the fake received, and what it answered."""

    method: str
    """Web API method (`chat.postMessage`), `response_url`, or `socket_mode.ack`."""
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    answer: Any = None
    at: float = field(default_factory=time.time)
    """When it arrived (Unix time), for benchmarks that time a run from outside."""

    @property
    def error(self) -> str:
        return self.answer.get("error", "") if isinstance(self.answer, dict) else ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and (
            not isinstance(self.answer, dict) or bool(self.answer.get("ok", True))
        )


@dataclass
class _Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _Bucket:
    """A token bucket: `rate` calls a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def take(self, now: float) -> float:
        """0 when a call may go now (and takes it), else the seconds until it could."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimit:
    """Slack's limits on posting: about one message a second per channel, and a
    workspace-wide rate; beyond either, 429 with Retry-After in whole seconds."""

    method: str
    per_channel: float
    per_workspace: float
    channel_burst: float = 1.0
    workspace_burst: float = 1.0
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    refused: int = 0


@dataclass(frozen=True)
class Team:
    """A workspace (or, `org`, an Enterprise Grid organisation) the app can be installed in."""

    team_id: str
    token: str
    bot_user: str
    bot_id: str
    enterprise_id: str = ""
    org: bool = False
    installer: str = "U0INSTALLER"


CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fakeclientsecretfakeclientsecret"


class FakeSlackAPI:
    def __init__(self) -> None:
        self.port = 0
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._scripts: dict[str, deque[_Answer]] = defaultdict(deque)
        self._channel_scripts: dict[tuple[str, str], deque[_Answer]] = defaultdict(deque)
        self._limit: RateLimit | None = None
        self._history: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._holds: dict[str, asyncio.Event] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._people: dict[str, str] = {}
        self._members: dict[str, list[str]] = defaultdict(list)
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()
        self._views = itertools.count(1)
        self._codes: dict[str, Team] = {}
        self._teams: dict[str, Team] = {}
        self._thread = threading.Thread(target=self._run, name="fake-slack-api", daemon=True)

    # lifecycle ------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Slack API did not start")

    def stop(self) -> None:
        self._call_soon(self._close_sockets()).result(10)
        if self._runner is not None:
            self._call_soon(self._runner.cleanup()).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def reset(self) -> None:
        """Forget every call and script, release held answers, drop websockets."""
        with self._lock:
            self._calls.clear()
            self._scripts.clear()
            self._channel_scripts.clear()
            self._limit = None
            self._history.clear()
            self._people.clear()
            self._members.clear()
            self._used_triggers.clear()
            self._expired_triggers.clear()
            self._codes.clear()
            self._teams.clear()
        for method in list(self._holds):
            self.release(method)
        self._call_soon(self._close_sockets()).result(10)
        self.accept()

    @property
    def url(self) -> str:
        """The Web API base URL, as `SLACK_API_URL`."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # scripting ------------------------------------------------------------

    def answer(self, method: str, *, status: int = 200, body: Any = None,
               headers: dict[str, str] | None = None, times: int = 1,
               channel: str = "") -> None:
        """The next `times` calls of `method` (to `channel`, if given) get this answer
        instead of the default."""
        with self._lock:
            queue = self._channel_scripts[method, channel] if channel else self._scripts[method]
            for _ in range(times):
                queue.append(_Answer(status, body, dict(headers or {})))

    def fail(self, method: str, error: str, times: int = 1, channel: str = "") -> None:
        """Slack's method-level errors come with HTTP 200 and `ok: false`."""
        self.answer(method, body={"ok": False, "error": error}, times=times, channel=channel)

    def limit(self, method: str = "chat.postMessage", *, per_channel: float = 1.0,
              per_workspace: float = 10.0, channel_burst: float = 1.0,
              workspace_burst: float = 1.0) -> RateLimit:
        """Enforce Slack-like rate limits on `method` from now until `reset`."""
        limit = RateLimit(method, per_channel, per_workspace, channel_burst, workspace_burst)
        with self._lock:
            self._limit = limit
        return limit

    def delivered(self, channel: str | None = None) -> list[Call]:
        """chat.postMessage calls that Slack accepted (a real message in a channel)."""
        return [c for c in self.calls("chat.postMessage") if c.ok
                and (channel is None or c.body.get("channel") == channel)]

    def ratelimit(self, method: str, retry_after: str = "1", times: int = 1) -> None:
        canned = RESPONSES["chat.postMessage.ratelimited"]
        self.answer(method, status=canned["status"], body=canned["body"],
                    headers={"Retry-After": retry_after}, times=times)

    def server_error(self, method: str, times: int = 1) -> None:
        self.answer(method, status=500, body="<html><body>Internal Server Error</body></html>",
                    headers={"Content-Type": "text/html"}, times=times)

    def hold(self, method: str) -> None:
        """Answers to `method` wait until `release(method)`: a slow Slack."""
        event = self._call_soon(self._make_event()).result(10)
        self._holds[method] = event

    def release(self, method: str) -> None:
        event = self._holds.pop(method, None)
        if event is not None:
            self._loop.call_soon_threadsafe(event.set)

    def add_person(self, email: str, user_id: str) -> None:
        """Someone `users.lookupByEmail` finds; anyone else is `users_not_found`."""
        with self._lock:
            self._people[email.lower()] = user_id

    def add_member(self, user: str, *channels: str) -> None:
        """Channels `users.conversations` lists for `user`."""
        with self._lock:
            self._members[user].extend(channels)
    def add_team(self, team: Team, code: str) -> None:
        """`oauth.v2.access` with `code` (once, from the app with CLIENT_ID and CLIENT_SECRET)
        installs the app in `team`; `auth.test` with its token answers as that team's bot."""
        with self._lock:
            self._codes[code] = team
            self._teams[team.token] = team

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open with this trigger answers `expired_trigger_id`, as Slack does once
        three seconds have passed (a test cannot wait that long reliably)."""
        with self._lock:
            self._expired_triggers.add(trigger_id)

    def opened_views(self) -> list[dict[str, Any]]:
        """The views views.open accepted, as Slack answered them (with id and hash)."""
        return [c.answer["view"] for c in self.calls("views.open") if c.ok]

    def refuse(self) -> None:
        """Stop listening, so every call is refused at connect: Slack unreachable."""
        self._call_soon(self._stop_listening()).result(10)

    def accept(self) -> None:
        """Listen again on the same port, after `refuse`."""
        self._call_soon(self._listen()).result(10)

    # inspection -----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posts(self) -> list[Call]:
        """Every attempt to say something: both chat methods and `response_url`."""
        return [c for c in self.calls()
                if c.method in ("chat.postMessage", "chat.postEphemeral", "response_url")]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Poll until `count` calls of `method` arrived; the timeout only guards a hang."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout}s for {count} {method} call(s); "
                                     f"got {[c.method for c in self.calls()]}")
            await asyncio.sleep(0.01)

    # Socket Mode ----------------------------------------------------------

    async def wait_socket(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(not ws.closed for ws in self._sockets):
            if time.monotonic() > deadline:
                raise AssertionError("no Socket Mode client connected")
            await asyncio.sleep(0.01)

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push one envelope to every connected Socket Mode client, as Slack does."""
        await asyncio.wrap_future(self._call_soon(self._send_all(envelope)))

    # server ---------------------------------------------------------------

    def _call_soon(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._listen()
        self.port = self._runner.addresses[0][1]

    async def _listen(self) -> None:
        assert self._runner is not None
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()

    async def _stop_listening(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()

    async def _make_event(self) -> asyncio.Event:
        return asyncio.Event()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = {**request.query, **await _read(request)}
        hold = self._holds.get(method)
        if hold is not None:
            await hold.wait()
        with self._lock:
            script = self._script(method, str(body.get("channel", "")))
            wait = self._limited(method, body) if script is None else 0.0
        if script is not None:
            status, answer, headers = script.status, script.body, script.headers
        elif wait:
            canned = RESPONSES["chat.postMessage.ratelimited"]
            status, answer = canned["status"], canned["body"]
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
        else:
            status, answer, headers = 200, self._default(method, request, body), {}
        self._record(Call(method, body, dict(request.headers), status, answer))
        if isinstance(answer, dict):
            return web.json_response(answer, status=status, headers=headers)
        return web.Response(text=str(answer), status=status, headers=headers)

    def _script(self, method: str, channel: str) -> _Answer | None:
        for queue in (self._channel_scripts.get((method, channel)), self._scripts.get(method)):
            if queue:
                return queue.popleft()
        return None

    def _limited(self, method: str, body: dict[str, Any]) -> float:
        """Seconds until this call would be allowed; 0 (and counted) when it is."""
        limit = self._limit
        if limit is None or limit.method != method:
            return 0.0
        now = time.monotonic()
        channel = f"channel:{body.get('channel', '')}"
        buckets = limit.buckets
        if channel not in buckets:
            buckets[channel] = _Bucket(limit.per_channel, limit.channel_burst, now)
        if "workspace" not in buckets:
            buckets["workspace"] = _Bucket(limit.per_workspace, limit.workspace_burst, now)
        wait = buckets[channel].take(now)
        if wait:
            limit.refused += 1
            return wait
        wait = buckets["workspace"].take(now)
        if wait:
            buckets[channel].tokens += 1
            limit.refused += 1
        return wait

    def _history_of(self, body: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: what was posted to the channel, newest first."""
        oldest = float(body.get("oldest") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            posted = [m for m in self._history.get(str(body.get("channel", "")), [])
                      if float(m["ts"]) > oldest]
        messages = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
                    for m in reversed(posted)]
        return {"ok": True, "messages": messages, "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    def _default(self, method: str, request: web.Request, body: dict[str, Any]) -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return RESPONSES["invalid_auth"]["body"]
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "oauth.v2.access":
            return self._oauth_access(request, body)
        if not token.startswith("xoxb-"):
            return RESPONSES["invalid_auth"]["body"]
        ts = f"{time.time():.0f}.{next(self._ts):06d}"
        if method == "auth.test":
            return self._auth_test(token)
        if method == "conversations.history":
            return self._history_of(body)
        if method == "chat.postMessage":
            sent = RESPONSES["chat.postMessage.ok"]["body"]
            message = {**sent["message"], "text": body.get("text", ""), "ts": ts}
            if body.get("metadata"):
                message["metadata"] = body["metadata"]
            with self._lock:
                self._history[str(body.get("channel", ""))].append(message)
            return {**sent, "channel": body.get("channel", ""), "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.publish":
            return self._publish(body)
        if method == "users.conversations":
            with self._lock:
                channels = list(self._members.get(str(body.get("user", "")), []))
            return {"ok": True, "channels": [{"id": c, "is_channel": True} for c in channels],
                    "response_metadata": {"next_cursor": ""}}
        if method == "users.lookupByEmail":
            return self._lookup(str(body.get("email", "")))
        if method == "views.open":
            return self._open_view(body)
        return {"ok": True}

    def _oauth_access(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: the app's credentials (HTTP Basic, as slack_sdk sends them) and a
        code not used before give the installed team's bot token, in Slack's shape."""
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            team = self._codes.pop(str(body.get("code", "")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        enterprise = ({"id": team.enterprise_id, "name": f"Org {team.enterprise_id}"}
                      if team.enterprise_id else None)
        return {
            "ok": True, "app_id": "A0FAKEAPP", "token_type": "bot",
            "access_token": team.token, "bot_user_id": team.bot_user,
            "scope": "commands,chat:write,app_mentions:read",
            "authed_user": {"id": team.installer},
            "team": None if team.org else {"id": team.team_id, "name": f"Team {team.team_id}"},
            "enterprise": enterprise, "is_enterprise_install": team.org,
        }

    def _auth_test(self, token: str) -> dict[str, Any]:
        with self._lock:
            team = self._teams.get(token)
        if team is None:
            return dict(RESPONSES["auth.test.ok"]["body"])
        return {"ok": True, "url": f"https://{team.team_id.lower()}.slack.com/",
                "team": f"Team {team.team_id}", "user": "touchpoint",
                "team_id": team.team_id, "user_id": team.bot_user, "bot_id": team.bot_id,
                "enterprise_id": team.enterprise_id or None,
                "is_enterprise_install": team.org}

    def _publish(self, body: dict[str, Any]) -> dict[str, Any]:
        """views.publish: Slack's answer echoes the view it now shows; a view that is not a
        home view, or not JSON, is `invalid_arguments`."""
        view = body.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                view = None
        if (not isinstance(view, dict) or view.get("type") != "home"
                or not str(body.get("user_id", "")).startswith(("U", "W"))
                or not isinstance(view.get("blocks"), list) or len(view["blocks"]) > 100):
            return RESPONSES["views.publish.invalid_arguments"]["body"]
        sent = RESPONSES["views.publish.ok"]["body"]
        return {**sent, "view": {**sent["view"], "blocks": view["blocks"]}}

    def _open_view(self, body: dict[str, Any]) -> dict[str, Any]:
        """views.open as Slack checks it: a trigger used once and in time, and a modal
        within Slack's limits; the answer is the view with its new id and hash."""
        trigger = str(body.get("trigger_id", ""))
        view = body.get("view")
        if isinstance(view, str):  # form-encoded calls send the view as a JSON string
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                view = None
        if not trigger or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            if trigger in self._expired_triggers or trigger in self._used_triggers:
                return RESPONSES["views.open.expired_trigger_id"]["body"]
            self._used_triggers.add(trigger)
        problem = _view_problem(view)
        if problem:
            invalid = RESPONSES["views.open.invalid_arguments"]["body"]
            return {**invalid, "response_metadata": {"messages": [problem]}}
        view_id = f"V0FAKEVIEW{next(self._views)}"
        opened = {**RESPONSES["views.open.ok"]["body"]["view"], **view, "id": view_id,
                  "root_view_id": view_id, "hash": f"{time.time():.0f}.fakeHash",
                  "state": {"values": {}}}
        return {"ok": True, "view": opened}

    def _lookup(self, email: str) -> dict[str, Any]:
        """users.lookupByEmail, in the shape of Slack's answer (the fields the bot reads)."""
        with self._lock:
            user_id = self._people.get(email.lower())
        if user_id is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": "T0FAKETEAM",
                                     "name": email.partition("@")[0], "deleted": False,
                                     "is_bot": False, "profile": {"email": email}}}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await _read(request)
        self._record(Call("response_url", body, dict(request.headers), 200, "ok"))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A0FAKEAPP"},
                            "debug_info": {"host": "fake-slack-api"}})
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                self._record(Call("socket_mode.ack", json.loads(frame.data), {}))
        return ws

    async def _send_all(self, envelope: dict[str, Any]) -> None:
        for ws in self._sockets:
            if not ws.closed:
                await ws.send_json(envelope)

    async def _close_sockets(self) -> None:
        sockets, self._sockets = self._sockets, []
        for ws in sockets:
            await ws.close()

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)


def _view_problem(view: dict[str, Any]) -> str:
    """The first way `view` breaks Slack's documented limits for a modal, or ""."""
    title = view.get("title")
    if view.get("type") != "modal" or not isinstance(title, dict):
        return "[ERROR] a modal needs type modal and a title [json-pointer:/view]"
    for key in ("title", "submit", "close"):
        text = view.get(key, {}).get("text", "") if isinstance(view.get(key), dict) else ""
        if len(text) > 24:
            return f"[ERROR] must be less than 25 characters [json-pointer:/view/{key}/text]"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 100:
        return "[ERROR] a modal has 1 to 100 blocks [json-pointer:/view/blocks]"
    if len(str(view.get("private_metadata", ""))) > 3000:
        return ("[ERROR] must be less than 3001 characters "
                "[json-pointer:/view/private_metadata]")
    for index, block in enumerate(blocks):
        options = block.get("element", {}).get("options", []) if isinstance(block, dict) else []
        if len(options) > 100 or any(len(o["text"]["text"]) > 75 for o in options):
            return f"[ERROR] options over Slack's limits [json-pointer:/view/blocks/{index}]"
    return ""


async def _read(request: web.Request) -> dict[str, Any]:
    raw = await request.text()
    if request.content_type == "application/json":
        try:
            parsed = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return {"_raw": raw}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw, keep_blank_values=True))
    return {"_raw": raw} if raw else {}
