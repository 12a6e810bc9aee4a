"""How fast the daily prompts go out: a platform's rate shared by every instance, and
each channel's own interval."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from adapters.outbound import Outbound
from bot.memory_store import MemoryStore
from bot.schedule import Subscription
from bot.store import Store, StoreError
from touchpoint.prompt_jobs import PromptSettings

log = logging.getLogger("touchpoint.prompts")


@runtime_checkable
class PacedByWorkspace(Protocol):
    """An outbound whose channels are in different workspaces, each with its own rate."""

    async def pace_space(self, channel: str) -> str:
        """The name the channel's workspace is paced under (the platform, for one)."""


async def pace_space(outbound: Outbound, sub: Subscription) -> str:
    """The name `sub`'s channel is paced under: its workspace's, or else its platform's."""
    if not isinstance(outbound, PacedByWorkspace):
        return sub.platform
    try:
        return await outbound.pace_space(sub.channel)
    except Exception as exc:  # any backend of the channel map: pace with the platform's rate
        log.debug("prompts: cannot tell the workspace of %s (%s)", sub.key, exc)
        return sub.platform


class Pacer:
    """A platform's rate shared by all instances (through the store), and each channel's.

    Only the instance holding a channel's claim posts there, so the channel
    interval can be kept in this process. When the store is unreachable the
    platform's rate is kept per instance instead.
    """

    def __init__(self, store: Store, rate: float, channel_interval: float,
                 clock: Callable[[], float] = time.monotonic, *,
                 longest: float = PromptSettings.longest_wait) -> None:
        self._store = store
        self._interval = 1.0 / rate
        self._channel_interval = channel_interval
        self._local = MemoryStore(clock=clock)
        self._longest = longest

    async def channel_slot(self, platform: str, channel: str) -> float:
        """Seconds to wait before the next post to `channel` may go out."""
        return await self._local.reserve(f"{platform}:{channel}", self._channel_interval)

    async def shared_slot(self, platform: str) -> float:
        """Seconds to wait for the next of the platform's slots, shared by all instances."""
        return await self._reserve(f"rate:{platform}", self._interval)

    @property
    def tolerance(self) -> float:
        """How late a slot may be taken: later, it would go out bunched with the next ones."""
        return max(0.01, 2 * self._interval)

    async def pause(self, platform: str, channel: str, seconds: float, *, shared: bool) -> None:
        """No post to the channel, and with `shared` to the platform, for `seconds`."""
        if shared:
            await self._reserve(f"rate:{platform}", 0.0, seconds)
        await self._local.reserve(f"{platform}:{channel}", 0.0, seconds)

    async def _reserve(self, key: str, interval: float, after: float = 0.0) -> float:
        try:
            wait = await self._store.reserve(key, interval, after, self._longest)
        except StoreError:  # pace this instance alone
            return await self._local.reserve(key, interval, after)
        if wait > self._longest:  # a store that does not repair its keys: still no stall
            log.warning("prompts: the store asked for a wait of %.0f s for %s, more than the "
                        "%g s any instance books; pacing this instance alone", wait, key,
                        self._longest)
            return await self._local.reserve(key, interval, after)
        return wait
