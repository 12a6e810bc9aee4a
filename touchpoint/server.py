"""`touchpoint serve`: one aiohttp server for every platform the environment enables.

Each adapter attaches its own routes to the one application; the process owns
the handler, the store and the shutdown sequence, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import resource
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from aiohttp import web

from adapters import bodies, teams
from adapters.bodies import MAX_BODY
from adapters.outbound import Outbound
from adapters.redis_clients import RedisTarget
from adapters.redis_store import RedisStore
from bot.admin import Admins
from bot.analytics import Observer
from bot.handler import Handler, HandlerSettings
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.playbooks import PlaybookErrors
from bot.store import Store
from touchpoint import live, logs, memory, metrics, scheduler, webhooks
from touchpoint.call_outbox import CallOutbox, OutboxSettings
from touchpoint.loader import LiveRouting, load_folder
from touchpoint.reload import AdminReport, admin_report
from touchpoint.settings import Settings
from touchpoint.web import app as web_pages

log = logging.getLogger("touchpoint.server")

HANDLER_KEY: web.AppKey[Handler] = web.AppKey("handler", Handler)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


@dataclass
class Health:
    """What `/healthz` reports: each part says `ok` or why it is degraded."""

    parts: dict[str, Callable[[], Awaitable[str]]] = field(default_factory=dict)

    async def report(self) -> dict[str, str]:
        return {name: await check() for name, check in self.parts.items()}


HEALTH_KEY: web.AppKey[Health] = web.AppKey("health", Health)


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


def store_notice(settings: Settings) -> tuple[int, str]:
    """The log level and line that say at start which store holds the state.

    Memory only is a warning: on a restart mutes, subscriptions, Teams conversation
    references and counts are gone, and instances do not share them. The Redis URL is
    shown without its password.
    """
    if settings.redis_sentinels:
        sentinels = ",".join(f"{host}:{port}" for host, port in settings.redis_sentinels)
        return logging.INFO, (f"store: Redis primary {settings.redis_sentinel_service!r} "
                              f"through the sentinels {sentinels} (prefix "
                              f"{settings.redis_prefix!r})")
    if not settings.redis_url:
        return logging.WARNING, (
            "store: this process's memory only (REDIS_URL is not set): mutes, channel "
            "subscriptions, Teams conversation references and usage counts are lost on "
            "restart and not shared with other instances")
    parsed = urlparse(settings.redis_url)
    if parsed.scheme == "unix":
        where = f"unix://{parsed.path}"
    else:
        host = f"[{parsed.hostname}]" if ":" in (parsed.hostname or "") else parsed.hostname
        where = f"{parsed.scheme}://{host}:{parsed.port or 6379}{parsed.path or '/0'}"
    kind = "Redis Cluster through" if settings.redis_cluster else "Redis at"
    return logging.INFO, f"store: {kind} {where} (prefix {settings.redis_prefix!r})"


def make_store(settings: Settings) -> Store:
    """Redis when configured, so instances share state; otherwise this process's memory."""
    if settings.uses_redis:
        target = RedisTarget(url=settings.redis_url, sentinels=settings.redis_sentinels,
                             service=settings.redis_sentinel_service,
                             cluster=settings.redis_cluster)
        return RedisStore.from_target(target, prefix=settings.redis_prefix)
    return MemoryStore()


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    """`make_store`'s store for one command, its connections closed when done."""
    store = make_store(settings)
    try:
        yield store
    finally:
        if isinstance(store, RedisStore):
            await store.close()


def watch_store(app: web.Application, store: Store) -> None:
    """Report a Redis store in `/healthz` and close its connections with the app."""
    if not isinstance(store, RedisStore):
        return
    app[HEALTH_KEY].parts["redis"] = store.health

    async def probe(_: web.Application) -> None:
        # Start even when Redis is down (the store reconnects), but say so at once.
        state = await store.health()
        log.log(logging.INFO if state == "ok" else logging.WARNING,
                "redis store (prefix %r): %s", store.prefix, state)

    async def close(_: web.Application) -> None:
        await store.close()

    app.on_startup.append(probe)
    app.on_cleanup.append(close)


def attach_slack(app: web.Application, handler: Handler, settings: Settings,
                 socket_mode_only: bool = False) -> None:
    """Slack joins only when configured, so a bare `touchpoint serve` still starts."""
    if not settings.slack_bot_token:
        log.info("slack: off (set SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)")
        return
    from adapters import slack

    http = bool(settings.slack_signing_secret) and not socket_mode_only
    if not http:
        log.info("slack: no %s route (%s)", slack.EVENTS_PATH,
                 "--socket-mode" if socket_mode_only else "SLACK_SIGNING_SECRET not set")
    slack.attach(app, handler, settings, http=http, socket_mode=bool(settings.slack_app_token))


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


def admin_poster(app: web.Application, settings: Settings) -> AdminReport | None:
    """Reports to TOUCHPOINT_ADMIN_CHANNEL through the Outbound of the Slack or Teams
    adapter attached to `app`, over that adapter's own client."""
    if not settings.admin_channel:
        return None
    platform, _, channel = settings.admin_channel.partition(":")

    def outbound() -> Outbound | None:
        if platform == "slack":
            from adapters.slack import SLACK_KEY
            from adapters.slack_outbound import SlackOutbound

            adapter = app.get(SLACK_KEY)
            return None if adapter is None else SlackOutbound(adapter.client)
        from adapters.teams_outbound import TeamsOutbound

        bot = app.get(teams.TEAMS_KEY)
        return None if bot is None else TeamsOutbound(bot, app[HANDLER_KEY].store)

    return admin_report(platform, channel, outbound)


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
    teams.attach(app, handler, settings)
    attach_slack(app, handler, settings, socket_mode_only)
    playbooks = live.attach(app, handler, settings, store, registry, admin_poster(app, settings))
    outbounds = scheduler.outbounds_for(app, settings, store)
    attach_calls(app, handler, store, outbounds, settings,
                 lambda: playbooks.reloader.folder, registry.call_nudges.inc)
    scheduler.attach(app, store, outbounds, lambda: handler.playbooks.playbooks,
                     lambda: playbooks.reloader.folder, settings,
                     observe=registry.scheduler_posts.inc)
    web_pages.attach(app, handler, settings)
    # Playbooks, matcher index and imports live as long as the process: without this, every
    # full collection walks them all and stalls requests for tens of milliseconds.
    gc.freeze()

    def listening(bound: int) -> None:
        log.info("serving %d playbooks on http://%s:%d", len(handler.playbooks.playbooks), host,
                 bound)

    await run_until_signalled(app, host, port, listening, lambda: log.info("shutting down"),
                              header_timeout=settings.header_timeout,
                              log_text=settings.log_text)


LINGER = 2.0
"""Seconds the rest of a refused body is read (and dropped) so its sender sees the answer;
aiohttp's 10 s let each stalled client keep its connection that much longer."""
READ_BUFFER = 64 * 1024
"""Bytes aiohttp buffers of a body before the handler reads them (twice this, then it stops
reading the socket): its default of 256 KiB let stalled clients pin half a megabyte each."""


def open_files() -> int:
    """Raise this process's limit on open files to the hard limit, and say what it is.

    Every connection is a file: at the usual soft limit of 1024, a thousand idle or
    half-sent connections left no room for Slack's next request.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


async def run_until_signalled(app: web.Application, host: str, port: int,
                              listening: Callable[[int], None],
                              stopping: Callable[[], None] = lambda: None, *,
                              header_timeout: float = Settings.header_timeout,
                              log_text: bool = False) -> None:
    """Serve `app` until SIGTERM or SIGINT, then stop taking requests and finish the ones taken.

    `listening` is told the port bound (`port` 0 picks one) once the app has started;
    `stopping`, that a signal came. A connection that has not sent a whole request's
    headers within `header_timeout` seconds of opening (or of its previous answer) is
    closed: aiohttp's keep-alive timer is the one deadline it has for headers. Unless
    `log_text`, the access log leaves out query strings.
    """
    log.debug("open files allowed: %d", open_files())
    runner = web.AppRunner(app, handle_signals=False, keepalive_timeout=header_timeout,
                           read_bufsize=READ_BUFFER, lingering_time=LINGER,
                           access_log_class=logs.access_log(log_text))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    listening(runner.addresses[0][1] if runner.addresses else port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    stopping()
    await runner.cleanup()
