"""Who may see the manager pages: whoever holds TOUCHPOINT_ADMIN_TOKEN, or, in
`touchpoint preview` only, a browser on this machine.

The pages show what people asked the bot and can reload playbooks. `touchpoint
serve` runs behind proxies and load balancers, where no check of the peer can
tell a visitor from the proxy, so without a token it serves them to nobody.
`touchpoint preview` is one person's tool on their own machine: without a token
it answers only a browser there. "This machine" means more than a loopback peer
address: a reverse proxy on the same host is a loopback peer for every visitor
(so any forwarding header means "not local"), and a web page whose DNS name was
rebound to 127.0.0.1 talks to us with its own name in `Host` (so `Host` must
name this machine too).

With a token, every request must carry it: as `Authorization: Bearer`, or in
the cookie the login form sets (signed with a key derived from the token, so
it is valid on every instance and void once the token changes). The cookie is
also bound to a generation kept in the shared store: signing out starts a new
one, which voids every cookie signed before, on every instance, at once. While
the store cannot be read, no cookie is accepted (the bearer token still is). Forms that
change something are checked for a same-origin `Origin` and a CSRF token on
top of the cookie's SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from adapters.bodies import read_form
from adapters.network import forwarded, is_loopback
from bot.store import SharedValues, StoreError
from touchpoint.web.html import PREFIX, Html, document, el

log = logging.getLogger("touchpoint.web")

COOKIE = "touchpoint_admin"
GENERATION = "admin-session-generation"
"""The store's name for the current generation of sign-in cookies."""
SESSION_SECONDS = 12 * 3600
"""How long a login lasts: a working day, then the token is asked for again."""
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
LOGIN = f"{PREFIX}/login"
PUBLIC = (f"{PREFIX}/static/",)
"""Paths anyone who can reach the server may fetch: the style sheet holds no secret."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every page: nothing from elsewhere, no framing, no caching of what people asked."""


def host_name(host: str | None) -> str:
    """The name in a `Host` header, without port or IPv6 brackets, lower-cased."""
    if not host:
        return ""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_local(remote: str | None, host: str | None, forwarded: bool) -> bool:
    """A browser on this machine, talking to us by a local name, not through a proxy."""
    return is_loopback(remote) and host_name(host) in LOCAL_NAMES and not forwarded


def same_origin(origin: str | None, referer: str | None, host: str) -> bool:
    """The form was sent from one of our own pages.

    Only the host is compared: behind a TLS-terminating proxy we see http while
    the browser says https, and a page on our own host is no cross-site attacker.
    """
    source = origin if origin and origin != "null" else referer
    if not source:
        return False
    return urlsplit(source).netloc.lower() == host.lower()


def _mac(key: bytes, message: str) -> str:
    # A cookie may hold undecodable bytes (surrogates here): they must not raise.
    return hmac.new(key, message.encode("utf-8", errors="replace"), hashlib.sha256).hexdigest()


@dataclass
class Guard:
    """The token and the keys derived from it; without a token, `local` says whether a browser
    on this machine is served (`touchpoint preview`) or nobody is (`touchpoint serve`)."""

    token: str = field(default="", repr=False)
    local: bool = False
    clock: Callable[[], float] = time.time
    key: bytes = field(default=b"", repr=False)
    store: SharedValues | None = None
    """Where the cookies' generation is shared; None: one generation for ever (tests)."""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = (hashlib.sha256(b"touchpoint-admin\0" + self.token.encode()).digest()
                        if self.token else secrets.token_bytes(32))

    def token_ok(self, given: str) -> bool:
        # Undecodable bytes arrive as surrogates, which only `errors="replace"` can encode.
        return bool(self.token) and hmac.compare_digest(
            given.encode("utf-8", errors="replace"), self.token.encode())

    def bearer_ok(self, authorization: str | None) -> bool:
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(given.strip())

    def session(self, generation: str = "") -> str:
        """A cookie value: when it expires, and a MAC that only the token's holder can make."""
        expires = int(self.clock() + SESSION_SECONDS)
        return f"{expires}.{_mac(self.key, f'session:{expires}:{generation}')}"

    def session_ok(self, value: str | None, generation: str = "") -> bool:
        expires, _, mac = (value or "").partition(".")
        # ASCII digits only, and few: "²".isdigit() holds, and int() refuses 5,000 digits.
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12) \
                or int(expires) < self.clock():
            return False
        return hmac.compare_digest(mac.encode("utf-8", errors="replace"),
                                   _mac(self.key, f"session:{expires}:{generation}").encode())

    async def generation(self) -> str | None:
        """The cookies' current generation; None when the store cannot say."""
        if self.store is None:
            return ""
        try:
            return await self.store.get_value(GENERATION) or ""
        except StoreError as exc:  # refuse cookies rather than guess
            log.warning("manager pages: cannot read the sign-in generation (%s: %s); "
                        "refusing sign-in cookies until the store answers",
                        type(exc).__name__, exc)
            return None

    async def revoke_sessions(self) -> bool:
        """Start a new generation: every cookie signed so far is void, on every instance."""
        if self.store is None:
            self.key = secrets.token_bytes(32)
            return True
        try:
            await self.store.set_value(GENERATION, secrets.token_hex(16))
        except StoreError as exc:  # say so, the cookie is still deleted
            log.warning("manager pages: signing out could not void the session (%s: %s)",
                        type(exc).__name__, exc)
            return False
        return True

    def csrf(self, request: web.Request) -> str:
        """The form token: bound to the session cookie, so another session's is refused."""
        return _mac(self.key, f"csrf:{request.cookies.get(COOKIE, '')}")


GUARD_KEY: web.AppKey[Guard] = web.AppKey("guard", Guard)
LET_IN_KEY: web.RequestKey[str] = web.RequestKey("let_in", str)
"""How the request was let in: `local`, `bearer`, `cookie`, or empty (the login form)."""


def refusal(status: int, title: str, text: str) -> web.Response:
    body = document(title, el("main", el("h1", title), el("p", text), class_="narrow"))
    return web.Response(text=body, status=status, content_type="text/html")


def login_page(request: web.Request, message: str = "", status: int = 401,
               wanted: str = "") -> web.Response:
    """The form; `wanted` (default: the page asked for) is where a good token leads."""
    guard = request.config_dict[GUARD_KEY]
    wanted = wanted or request.query.get("next") or (
        request.path_qs if request.method == "GET" and request.path != LOGIN else "")
    form = el("form",
              el("label", "Admin token", for_="token"),
              el("input", type="password", name="token", id="token", autocomplete="off",
                 required=True, autofocus=True),
              el("input", type="hidden", name="next", value=safe_next(wanted)),
              el("input", type="hidden", name="csrf", value=guard.csrf(request)),
              el("button", "Sign in", type="submit"),
              method="post", action=LOGIN, class_="login")
    shown = el("p", message, class_="error", role="alert") if message else None
    body = document("Sign in · Touchpoint", el("main", el("h1", "Touchpoint for managers"),
                    el("p", "Enter the admin token (TOUCHPOINT_ADMIN_TOKEN) to continue."),
                    shown, form, class_="narrow"))
    return web.Response(text=body, status=status, content_type="text/html")


def safe_next(path: str) -> str:
    """Only our own pages: a login must never redirect to another site."""
    if path.startswith(f"{PREFIX}/") and not path.startswith("//") and "\\" not in path:
        return path
    return f"{PREFIX}/"


async def _let_in(request: web.Request, guard: Guard) -> str | web.Response:
    """How the request is let in, or the page that turns it away."""
    if not guard.token:
        if not guard.local:
            return refusal(403, "The manager page is off",
                           "touchpoint serve shows these pages only to holders of the admin "
                           "token: set TOUCHPOINT_ADMIN_TOKEN and sign in with it, or run "
                           "touchpoint preview on your own machine.")
        if is_local(request.remote, request.host, forwarded(request.headers)):
            return "local"
        return refusal(403, "Only on this machine",
                       "These pages are served to a browser on the machine running touchpoint "
                       "preview. To reach them from elsewhere, set TOUCHPOINT_ADMIN_TOKEN and "
                       "sign in with it.")
    if guard.bearer_ok(request.headers.get("Authorization")):
        return "bearer"
    cookie = request.cookies.get(COOKIE)
    if cookie:
        generation = await guard.generation()
        if generation is not None and guard.session_ok(cookie, generation):
            return "cookie"
    if request.path == LOGIN:
        return ""
    if request.method in ("GET", "HEAD"):
        return login_page(request)
    return refusal(401, "Sign in first", "This needs the admin token.")


@web.middleware
async def guard_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every manager page goes through here; the security headers go on every answer."""
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC):
        return await handler(request)
    guard = request.config_dict[GUARD_KEY]
    let_in = await _let_in(request, guard)
    if isinstance(let_in, web.StreamResponse):
        return let_in
    request[LET_IN_KEY] = let_in
    if request.method not in ("GET", "HEAD") and let_in != "bearer":
        form = await read_form(request)
        given = form.get("csrf")
        if not same_origin(request.headers.get("Origin"), request.headers.get("Referer"),
                           request.host) or not isinstance(given, str) or \
                not hmac.compare_digest(given.encode("utf-8", errors="replace"),
                                        guard.csrf(request).encode()):
            return refusal(403, "Refused", "This form did not come from these pages, or it "
                           "is out of date: reload the page and try again.")
    return await handler(request)


async def login(request: web.Request) -> web.StreamResponse:
    """`POST /manage/login`: the token from the form; a good one gets the session cookie."""
    guard = request.config_dict[GUARD_KEY]
    form = await read_form(request)
    target = safe_next(str(form.get("next", "")))
    if not guard.token:
        raise web.HTTPSeeOther(target)
    if not guard.token_ok(str(form.get("token", ""))):
        return login_page(request, "That is not the admin token.", wanted=target)
    generation = await guard.generation()
    if generation is None:
        return login_page(request, "Signing in is not possible while the store is down; "
                          "try again in a minute.", status=503, wanted=target)
    response = web.HTTPSeeOther(target)
    response.set_cookie(COOKIE, guard.session(generation), max_age=SESSION_SECONDS,
                        path=PREFIX, secure=True, httponly=True, samesite="Strict")
    raise response


async def login_form(request: web.Request) -> web.StreamResponse:
    if not request.config_dict[GUARD_KEY].token or signed_in(request):
        raise web.HTTPSeeOther(safe_next(request.query.get("next", "")))
    return login_page(request, status=200)


async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out: the cookie is deleted here and void everywhere (every other signed-in browser
    has to sign in again, as the token is one for all)."""
    guard = request.config_dict[GUARD_KEY]
    if request.get(LET_IN_KEY) == "cookie":
        await guard.revoke_sessions()
    response = web.HTTPSeeOther(LOGIN if guard.token else f"{PREFIX}/")
    response.del_cookie(COOKIE, path=PREFIX, secure=True, httponly=True, samesite="Strict")
    raise response


def signed_in(request: web.Request) -> bool:
    """A sign-out button makes sense: the request was let in by a valid session cookie."""
    return request.get(LET_IN_KEY) == "cookie"


def csrf_value(request: web.Request) -> str:
    return request.config_dict[GUARD_KEY].csrf(request)


def csrf_field(request: web.Request) -> Html:
    return el("input", type="hidden", name="csrf", value=csrf_value(request))
