"""How long an HTTP Retry-After header asks to wait: one reading for Slack and Teams.

The header may arrive under any case, as a string or as the list of values
slack_sdk's retry handlers see, in delta seconds or as an HTTP date. Callers
choose their own wait when it is absent or unreadable, and their own bound.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


def retry_after(headers: Mapping[str, object] | None,
                now: float | None = None) -> float | None:
    """Seconds the first Retry-After header asks for (never negative); None if absent or
    unreadable. `now` (seconds since the epoch) is what an HTTP date is counted from."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            return _seconds(raw, now)
    return None


def _seconds(raw: object, now: float | None) -> float | None:
    if isinstance(raw, int | float):
        return max(0.0, float(raw))
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
