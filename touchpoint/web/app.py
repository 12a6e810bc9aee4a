"""The manager pages as an aiohttp sub-application, and `touchpoint preview`.

A sub-application keeps the guard (loopback or token, CSRF, security headers)
on these pages only: Slack's and Teams' routes authenticate their own way and
must never see a login page.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

from aiohttp import web

from adapters import bodies
from bot.handler import Handler, HandlerSettings
from bot.memory_store import MemoryStore
from touchpoint import live as live_playbooks
from touchpoint.loader import load_folder
from touchpoint.metrics import Metrics
from touchpoint.settings import Settings
from touchpoint.web import auth, insights, surfaces, views
from touchpoint.web.context import CONTEXT_KEY, Context
from touchpoint.web.html import PREFIX

log = logging.getLogger("touchpoint.web")

ASSETS = ("style.css",)
TYPES = {".css": "text/css", ".js": "text/javascript"}


def _asset(name: str) -> bytes:
    return resources.files("touchpoint.web").joinpath("static", name).read_bytes()


def pages(handler: Handler, settings: Settings, *, preview: bool = False,
          local: bool = False) -> web.Application:
    """The pages on their own, to be mounted at `PREFIX`; `local`: without a token, served to a
    browser on this machine (else to nobody)."""
    app = web.Application(middlewares=[auth.guard_pages])
    app[CONTEXT_KEY] = Context(handler, settings, preview)
    app[auth.GUARD_KEY] = auth.Guard(settings.admin_token, local=local, store=handler.store)
    assets = {name: _asset(name) for name in ASSETS}

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        kind = TYPES.get(name[name.rfind("."):], "application/octet-stream")
        return web.Response(body=assets[name], content_type=kind)

    app.router.add_get("/", views.try_it)
    app.router.add_post("/", views.try_it)
    app.router.add_get("/playbooks", views.playbook_list)
    app.router.add_get("/playbooks/{id}", views.playbook_detail)
    app.router.add_post("/reload", views.reload)
    app.router.add_get("/analytics", insights.analytics_view)
    app.router.add_get("/schedule", insights.schedule_view)
    app.router.add_get("/home", surfaces.home_page)
    app.router.add_get("/login", auth.login_form)
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_get("/static/{name}", static)
    return app


def attach(app: web.Application, handler: Handler, settings: Settings, *,
           preview: bool = False, local: bool | None = None) -> None:
    """Serve the pages under `PREFIX`, and send `/` there.

    Without a token they are served to a browser on this machine when `local` (by
    default: in `preview`), and to nobody otherwise.
    """

    async def home(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"{PREFIX}/")

    local = preview if local is None else local
    app.router.add_get("/", home)
    app.add_subapp(PREFIX, pages(handler, settings, preview=preview, local=local))
    if settings.admin_token:
        log.info("manager pages on %s/ for holders of TOUCHPOINT_ADMIN_TOKEN", PREFIX)
    elif local:
        log.info("manager pages on %s/ for this machine only (set TOUCHPOINT_ADMIN_TOKEN to "
                 "open them to others)", PREFIX)
    else:
        log.info("manager pages on %s/: off (set TOUCHPOINT_ADMIN_TOKEN to serve them to "
                 "whoever signs in with it, or run touchpoint preview on your own machine)",
                 PREFIX)


def preview_settings(settings: Settings) -> Settings:
    """The embedded defaults: the playbook folder and the token, nothing that reaches out."""
    return Settings(playbooks=settings.playbooks, log_level=settings.log_level,
                    log_text=settings.log_text,
                    nudge_cooldown=settings.nudge_cooldown, watch_interval=settings.watch_interval,
                    admin_token=settings.admin_token, header_timeout=settings.header_timeout,
                    body_timeout=settings.body_timeout, body_reads=settings.body_reads)


async def preview(settings: Settings, host: str, port: int) -> None:
    """`touchpoint preview`: only the pages, on an in-memory store, no Slack, Teams or git.

    The folder is still watched, so a manager editing YAML sees the change (or
    the validation error) on the next page load.
    """
    settings = preview_settings(settings)
    library = await asyncio.to_thread(load_folder, settings.playbooks)
    handler = Handler(library, MemoryStore(),
                      HandlerSettings(nudge_cooldown=settings.nudge_cooldown))
    app = web.Application()
    bodies.gate(app, settings.body_timeout, settings.body_reads)
    live_playbooks.attach(app, handler, settings, handler.store, Metrics())
    attach(app, handler, settings, preview=True)
    # Imported here: touchpoint.server imports this module.
    from touchpoint.server import run_until_signalled

    def listening(bound: int) -> None:
        log.info("preview of %d playbooks on http://%s:%d%s/", len(library.playbooks), host,
                 bound, PREFIX)

    await run_until_signalled(app, host, port, listening,
                              header_timeout=settings.header_timeout,
                              log_text=settings.log_text)
