"""A store whose backend is down for some calls, for the tests of degraded behaviour."""

from __future__ import annotations

from typing import Any

from bot.memory_store import MemoryStore
from bot.store import Store, StoreUnavailable


class DownStore(MemoryStore):
    """A `MemoryStore` whose `failing` methods raise `StoreUnavailable`, as Redis's would
    while it cannot be reached; every other method works."""

    def __init__(self, *failing: str, reason: str = "redis unreachable") -> None:
        super().__init__()
        for name in failing:
            if name.startswith("_") or not hasattr(Store, name):
                raise ValueError(f"{name!r} is not a Store method")

            async def down(*args: Any, **kwargs: Any) -> Any:
                raise StoreUnavailable(reason)

            setattr(self, name, down)
