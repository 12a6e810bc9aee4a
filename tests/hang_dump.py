"""Before pytest-timeout ends a hung run, print what every asyncio task awaits.

The timeout's own dump shows threads, and a hung asyncio test shows there only as an
idle event loop; the coroutine that never wakes is in a task's stack instead.
"""

from __future__ import annotations

import asyncio
import gc
import io
import sys
import threading

import pytest

AHEAD = 30.0
"""Seconds before the timeout; a test with a shorter timeout gets no dump."""


def start(item: pytest.Item, timeout: float) -> threading.Timer | None:
    if timeout <= 2 * AHEAD:
        return None
    timer = threading.Timer(timeout - AHEAD, _dump, args=(item,))
    timer.daemon = True
    timer.start()
    return timer


def _dump(item: pytest.Item) -> None:
    out = io.StringIO()
    out.write(f"\n{'+' * 20} asyncio tasks of {item.nodeid} {'+' * 20}\n")
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]
    for loop in loops:
        if not loop.is_running():
            continue
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed while it was read: the loop is not idle
            continue
        for task in tasks:
            out.write(f"--- {task.get_name()}\n")
            _awaits(task.get_coro(), out)
    capture = item.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)
    try:
        sys.stderr.write(out.getvalue())
        sys.stderr.flush()
    finally:
        if capture is not None:
            capture.resume_global_capture()


def _awaits(awaitable: object, out: io.StringIO) -> None:
    """Each frame down the chain of awaits, to the future nothing has resolved."""
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            out.write(f"    awaiting {awaitable!r}\n")
            return
        out.write(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}\n")
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
