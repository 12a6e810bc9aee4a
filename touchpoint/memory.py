"""Giving memory back to the system after a burst of large reads.

glibc keeps freed heap memory for reuse rather than returning it. Each socket
read takes up to 256 KiB, so after a crowd of stalled megabyte bodies had been
cut off the process still held some 100 MB it no longer used, and kept it. A
look every few seconds at the resident size costs nothing; when it has grown
since the last time memory was handed back, the collector frees what only
reference cycles hold (a refused request's exception holds its frames) and glibc
is asked (`malloc_trim`) to return what is free. Elsewhere than glibc nothing is
done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from adapters.tasks import TaskSet

log = logging.getLogger("touchpoint.memory")

INTERVAL = 5.0
"""Seconds between two looks at the resident size."""
GROWTH = 16 * 1024 * 1024
"""Bytes the resident size may grow before free memory is handed back."""
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident() -> int:
    """This process's resident memory in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def glibc_trim() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, or None when the C library is another."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


def give_back() -> None:
    """Hand back, once, what loading the playbooks freed: building the matcher's indexes
    makes large short-lived arrays and tables (about 8 MiB with 10,000 triggers) that glibc
    would otherwise keep for the life of the process, since the `Trimmer` measures from
    after the load and acts only on growth."""
    gc.collect()
    trim = glibc_trim()
    if trim is not None:
        trim()


class Trimmer:
    """Hands free heap memory back whenever the resident size grew by `GROWTH` since the last
    time."""

    def __init__(self, trim: Callable[[], object], measure: Callable[[], int] = resident) -> None:
        self._trim = trim
        self._measure = measure
        self._baseline = measure()

    def check(self) -> None:
        now = self._measure()
        if now < self._baseline + GROWTH:
            self._baseline = min(self._baseline, now)
            return
        # Cheap: `serve` froze what lives as long as the process, so the collector skips it.
        gc.collect()
        self._trim()
        after = self._measure()
        log.debug("memory: %d MiB resident, %d MiB after handing free memory back",
                  now >> 20, after >> 20)
        self._baseline = after

    async def run(self, interval: float = INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            self.check()


def attach(app: web.Application) -> None:
    """Watch the resident size for as long as `app` runs."""
    trim = glibc_trim()
    if trim is None or not resident():
        return

    async def lifespan(_: web.Application) -> AsyncIterator[None]:
        tasks = TaskSet()
        tasks.spawn(Trimmer(trim).run())
        yield
        await tasks.cancel()

    app.cleanup_ctx.append(lifespan)
