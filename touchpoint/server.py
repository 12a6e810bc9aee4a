"""`touchpoint serve`: one aiohttp server for every platform the environment enables.

Each adapter attaches its own routes to the one application; the process owns
the handler, the store and the shutdown sequence, and nothing else.
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

from aiohttp import web

from adapters import bodies
from adapters.bodies import MAX_BODY
from adapters.health import HEALTH_KEY, Health
from adapters.outbound import Outbound
from adapters.platform import Platform
from adapters.platform import serve as serve_platform
from adapters.redis_store import RedisStore
from bot.admin import Admins
from bot.analytics import Observer
from bot.handler import Handler, HandlerSettings
from bot.playbook_set import PlaybookSet
from bot.playbooks import PlaybookErrors
from bot.store import Store
from touchpoint import live, memory, metrics, platforms, scheduler, webhooks
from touchpoint.call_outbox import CallOutbox, OutboxSettings
from touchpoint.loader import LiveRouting, load_folder
from touchpoint.reload import AdminReport, admin_report
from touchpoint.serving import run_until_signalled
from touchpoint.settings import Settings
from touchpoint.stores import make_store, store_notice
from touchpoint.web import app as web_pages

log = logging.getLogger("touchpoint.server")

HANDLER_KEY: web.AppKey[Handler] = web.AppKey("handler", Handler)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


_ADDRESS = re.compile(
    r"\(\s*'[^']*'\s*,\s*\d+[^)]*\)"                  # ('10.0.0.5', 6379), as Python shows it
    r"|(?:\[[0-9A-Fa-f:.]+\]|[\w.-]*):\d{1,5}(?!\d)"  # host:port, [v6]:port
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"                  # IPv4
    r"|\b(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}\b"  # IPv6
    r"|(?<![\w.])/[^\s,;()]+")                       # a file or socket path
"""What in a part's reason could tell a visitor about the network behind the server."""


def public_state(state: str) -> str:
    """A part's state for `/healthz`, which anyone can read: why it is degraded, without the
    addresses and paths the log has."""
    return state if state == "ok" else _ADDRESS.sub("<address>", state)


async def healthz(request: web.Request) -> web.Response:
    handler = request.app[HANDLER_KEY]
    parts = await request.app[HEALTH_KEY].report()
    status = "ok" if all(v == "ok" for v in parts.values()) else "degraded"
    shown = {name: public_state(state) for name, state in parts.items()}
    body = {"status": status, "playbooks": len(handler.playbooks.playbooks), **shown}
    return web.json_response(body)


def build_app(settings: Settings, handler: Handler) -> web.Application:
    """The application with the routes every deployment has; adapters add theirs."""
    app = web.Application(client_max_size=MAX_BODY)
    bodies.gate(app, settings.body_timeout, settings.body_reads)
    app[HANDLER_KEY] = handler
    app[SETTINGS_KEY] = settings
    app[HEALTH_KEY] = Health()
    app.router.add_get("/healthz", healthz)
    return app


def watch_store(app: web.Application, store: Store) -> None:
    """Report a Redis store in `/healthz` and close its connections with the app."""
    if not isinstance(store, RedisStore):
        return
    app[HEALTH_KEY].parts["redis"] = store.health

    async def lifespan(_: web.Application) -> AsyncIterator[None]:
        # Start even when Redis is down (the store reconnects), but say so at once.
        state = await store.health()
        log.log(logging.INFO if state == "ok" else logging.WARNING,
                "redis store (prefix %r): %s", store.prefix, state)
        yield
        await store.close()

    app.cleanup_ctx.append(lifespan)


def attach_calls(app: web.Application, handler: Handler, store: Store,
                 outbounds: Mapping[str, Outbound], settings: Settings,
                 folder: Callable[[], Path],
                 observe: Callable[[str], None] = lambda outcome: None) -> CallOutbox:
    """The call-ended, Gong and Zoom routes, and the outbox worker that posts their nudges."""
    routing = LiveRouting(folder)
    outbox = CallOutbox(store, handler, outbounds, routing.current,
                        OutboxSettings(lease=settings.call_lease,
                                       retry_max=settings.call_retry_max), observe)
    secrets = webhooks.HookSecrets(
        call=settings.call_webhook_secret or settings.webhook_secret,
        legacy=(settings.webhook_secret or settings.call_webhook_secret)
        if settings.webhook_legacy else "",
        gong_public_key=settings.gong_public_key,
        gong_url_key=settings.gong_url_key, zoom=settings.zoom_secret)
    webhooks.attach(app, outbox, secrets, frozenset(outbounds), lambda: handler.playbooks,
                    routing.current)
    return outbox


def make_handler(settings: Settings, store: Store, observer: Observer | None = None) -> Handler:
    try:
        library = load_folder(settings.playbooks)
    except PlaybookErrors as exc:
        if not settings.playbooks_git:
            raise
        # Following git: the repository's commit is loaded before the server listens.
        log.info("no usable playbooks in %s (%s); waiting for git", settings.playbooks,
                 exc.errors[0])
        library = PlaybookSet.build([])
    else:
        log.info("playbooks: %d from %s (%s)", len(library.playbooks),
                 settings.playbooks.resolve(), settings.playbooks_origin)
    handler_settings = HandlerSettings(nudge_cooldown=settings.nudge_cooldown,
                                       questions_days=settings.questions_days,
                                       admins=Admins.parse(settings.admins),
                                       nudge_switchers=Admins.parse(settings.nudge_switchers))
    return Handler(library, store, handler_settings, observer=observer)


def admin_poster(settings: Settings,
                 outbounds: Mapping[str, Outbound]) -> AdminReport | None:
    """Reports to TOUCHPOINT_ADMIN_CHANNEL through that platform's `Outbound`, the one its
    prompts and nudges go through."""
    if not settings.admin_channel:
        return None
    platform, _, channel = settings.admin_channel.partition(":")
    return admin_report(platform, channel, lambda: outbounds.get(platform))


def outbounds_of(app: web.Application, chat: Sequence[Platform],
                 store: Store) -> dict[str, Outbound]:
    """A poster per platform this server talks to, for the bot's own posts; closed with the app."""
    found: dict[str, Outbound] = {platform.name: platform.outbound(store) for platform in chat}

    async def lifespan(_: web.Application) -> AsyncIterator[None]:
        yield
        for outbound in found.values():
            await outbound.close()

    app.cleanup_ctx.append(lifespan)
    return found


async def serve(settings: Settings, host: str, port: int, socket_mode_only: bool = False) -> None:
    """Run until SIGTERM or SIGINT, then stop taking requests and finish the ones taken."""
    log.log(*store_notice(settings))
    store = make_store(settings)
    registry = metrics.Metrics()
    handler = make_handler(settings, store, registry)
    app = build_app(settings, handler)
    metrics.attach(app, registry)
    memory.attach(app)
    watch_store(app, store)
    chat = platforms.enabled(app, settings, handler, socket_mode_only=socket_mode_only)
    for platform in chat:
        serve_platform(app, platform)
    outbounds = outbounds_of(app, chat, store)
    playbooks = live.attach(app, handler, settings, store, registry,
                            admin_poster(settings, outbounds))
    attach_calls(app, handler, store, outbounds, settings,
                 lambda: playbooks.reloader.folder, registry.call_nudges.inc)
    scheduler.attach(app, store, outbounds, lambda: handler.playbooks.playbooks,
                     lambda: playbooks.reloader.folder, settings,
                     observe=registry.scheduler_posts.inc)
    web_pages.attach(app, handler, settings)
    memory.give_back()
    # Playbooks, matcher index and imports live as long as the process: without this, every
    # full collection walks them all and stalls requests for tens of milliseconds.
    gc.freeze()

    def listening(bound: int) -> None:
        log.info("serving %d playbooks on http://%s:%d", len(handler.playbooks.playbooks), host,
                 bound)

    await run_until_signalled(app, host, port, listening, lambda: log.info("shutting down"),
                              header_timeout=settings.header_timeout,
                              log_text=settings.log_text)


