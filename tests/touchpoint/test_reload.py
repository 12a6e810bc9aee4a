"""The reloader: whatever goes wrong while loading a set, the last good set keeps serving."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest
import regex
from live_support import copy_playbooks

from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.messages import Reply
from touchpoint.loader import load_folder
from touchpoint.reload import Reloader


async def test_running_out_of_memory_while_loading_is_a_rejected_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling `x{4294967294}` raised MemoryError in the reload thread, which no one caught:
    the set was neither swapped in nor rejected. The machine running out of memory is
    played by the regex library here; the bounds on patterns keep real ones from it."""
    folder = copy_playbooks(tmp_path / "playbooks")
    handler = Handler(load_folder(folder), MemoryStore())
    live = handler.playbooks
    reports: list[Reply] = []

    async def report(reply: Reply) -> bool:
        reports.append(reply)
        return True

    def out_of_memory(*args: object, **kwargs: object) -> NoReturn:
        raise MemoryError

    reloader = Reloader(handler, folder, report=report)
    with monkeypatch.context() as patched:
        patched.setattr(regex, "compile", out_of_memory)
        outcome = await reloader.reload("a test")
    assert not outcome.ok and outcome.errors == (f"{folder}: cannot load: MemoryError: ",)
    assert handler.playbooks is live and reloader.rejected == outcome
    assert len(reports) == 1
    assert (await reloader.reload("the next edit")).ok and reloader.rejected is None
