"""Serving one aiohttp application until a signal: the listening socket and its limits.

Shared by `touchpoint serve` and `touchpoint preview`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
from collections.abc import Callable

from aiohttp import web

from touchpoint import access_log
from touchpoint.settings import Settings

log = logging.getLogger("touchpoint.server")


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
    logging.getLogger("aiohttp.server").addFilter(access_log.MALFORMED)
    runner = web.AppRunner(app, handle_signals=False, keepalive_timeout=header_timeout,
                           read_bufsize=READ_BUFFER, lingering_time=LINGER,
                           access_log_class=access_log.access_log(log_text))
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
