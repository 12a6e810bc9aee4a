"""Wiring live playbooks into `touchpoint serve`: watcher, git, SIGHUP, webhook, admin commands.

`serve` calls `attach` once; everything started here stops with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from adapters.bodies import MAX_BODY, read_body
from bot.admin import ReloadOutcome
from bot.handler import Handler
from bot.store import Store
from touchpoint import signing
from touchpoint.gitsync import GitFollower
from touchpoint.metrics import Metrics
from touchpoint.reload import AdminReport, Reloader
from touchpoint.settings import Settings

log = logging.getLogger("touchpoint.live")

HOOK_PATH = "/hooks/playbooks-updated"


class LivePlaybooks:
    """The handler's `bot.admin.Operations`: reload (through git when following one), about."""

    def __init__(self, reloader: Reloader, git: GitFollower | None = None) -> None:
        self.reloader = reloader
        self.git = git
        self._tasks: set[asyncio.Task[Any]] = set()

    async def reload(self, requested_by: str) -> ReloadOutcome:
        reason = f"/touchpoint reload by {requested_by}" if requested_by else "a reload"
        if self.git is not None:
            return await self.git.sync(reason, requested_by=requested_by)
        return await self.reloader.reload(reason, requested_by=requested_by)

    def about(self) -> list[str]:
        return (self.git.about() if self.git is not None else []) + self.reloader.about()

    def refresh(self, reason: str) -> None:
        """Reload in the background (SIGHUP): fetch first when following git."""
        if self.git is not None:
            self.git.request_sync(reason)
        else:
            self.spawn(self.reloader.reload(reason))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.git is not None:
            await self.git.stop()


LIVE_KEY: web.AppKey[LivePlaybooks] = web.AppKey("live", LivePlaybooks)


def attach(app: web.Application, handler: Handler, settings: Settings, store: Store,
           metrics: Metrics, report: AdminReport | None = None, *,
           handle_sighup: bool = True) -> LivePlaybooks:
    """Watch the folder (or follow git), reload on SIGHUP and `/touchpoint reload`."""
    reloader = Reloader(handler, settings.playbooks, report=report, metrics=metrics)
    git = None
    if settings.playbooks_git:
        git = GitFollower(settings.playbooks_git, settings.playbooks_branch,
                          settings.playbooks_git_path, settings.playbooks_git_cache, reloader,
                          store=store, interval=settings.playbooks_git_interval,
                          max_bytes=round(settings.playbooks_git_max_mb * 1_000_000))
    if git is None and settings.watch_interval > 0:
        reloader.remember_files()
    live = LivePlaybooks(reloader, git)
    handler.operations = live
    metrics.gauge("touchpoint_playbooks", "Playbooks being served.",
                  lambda: {(): len(handler.playbooks.playbooks)})
    metrics.gauge("touchpoint_playbooks_info", "The version (git commit) being served.",
                  lambda: {(handler.playbooks.version,): 1}, ("version",))
    metrics.gauge("touchpoint_regex_switched_off",
                  "Trigger regexes switched off for running past their cutoff, until a reload.",
                  lambda: dict.fromkeys(handler.playbooks.matcher.regexes.switched_off, 1.0),
                  ("playbook", "regex"))
    app[LIVE_KEY] = live
    if git is not None:
        secret = settings.git_webhook_secret or settings.webhook_secret
        if secret and not settings.git_webhook_secret:
            log.warning("git: %s is verified with the shared TOUCHPOINT_WEBHOOK_SECRET; give "
                        "the git host its own secret in TOUCHPOINT_GIT_WEBHOOK_SECRET", HOOK_PATH)
        if secret:
            app.router.add_post(HOOK_PATH, _webhook(git, secret))
        else:
            log.info("git: no %s route (set TOUCHPOINT_GIT_WEBHOOK_SECRET to fetch on push)",
                     HOOK_PATH)

    async def start(_: web.Application) -> None:
        if git is not None:
            try:
                outcome = await git.sync("start")
            except Exception as exc:  # a bug: serve what was loaded before, fetch later
                log.exception("git: the first sync failed")
                outcome = ReloadOutcome(False, False, "", 0, (f"{type(exc).__name__}: {exc}",))
            if git.commit:
                log.info("git: serving %s at %s", git.describe(), git.commit[:12])
            else:
                log.error("git: no commit of %s could be served (%s); serving the playbooks "
                          "from %s until one can", git.describe(),
                          "; ".join(outcome.errors[:3]), settings.playbooks)
            live.spawn(git.run())
        elif settings.watch_interval > 0:
            live.spawn(reloader.watch(settings.watch_interval))
        if handle_sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(
                    signal.SIGHUP, live.refresh, "SIGHUP")

    async def stop(_: web.Application) -> None:
        if handle_sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        await live.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return live


def _webhook(git: GitFollower, secret: str) -> Any:
    async def playbooks_updated(request: web.Request) -> web.Response:
        """`POST /hooks/playbooks-updated`: a signed push from the git host; fetch soon.

        Answers at once (git hosts give up after ten seconds); the fetch runs after.
        """
        body = await read_body(request, MAX_BODY)
        if body is None:
            return web.json_response({"error": f"the body is larger than {MAX_BODY} bytes"},
                                     status=413)
        if not signing.verify(secret, body, request.headers.get(signing.HEADER)):
            log.warning("refused %s from %s: bad or missing %s", HOOK_PATH, request.remote,
                        signing.HEADER)
            return web.json_response({"error": "invalid signature"}, status=401)
        event = request.headers.get("X-GitHub-Event") or request.headers.get("X-Gitea-Event")
        if event == "ping":
            return web.json_response({"status": "pong"})
        ref = _ref(body)
        if ref and ref != f"refs/heads/{git.branch}":
            return web.json_response({"status": "ignored", "ref": ref}, status=202)
        git.request_sync("the playbooks-updated webhook")
        return web.json_response({"status": "fetching"}, status=202)

    return playbooks_updated


def _ref(body: bytes) -> str:
    """The pushed ref of a GitHub-style push payload; empty when there is none."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else ""
