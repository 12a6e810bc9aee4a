"""Checks every part of the settings shares: numbers in a range, flags, secrets."""

from __future__ import annotations

from collections.abc import Mapping

FLAGS = {"": False, "0": False, "false": False, "no": False, "off": False,
          "1": True, "true": True, "yes": True, "on": True}

MIN_TOKEN = 16
MIN_SECRET = 16
"""Characters a shared secret needs at least, so it cannot be guessed (Slack's have 32)."""


def number(problems: list[str], name: str, raw: str | None, default: float, low: float,
            high: float, what: str = "a number") -> float:
    """The variable `name`'s value `raw` as a number from `low` to `high`; `default` when it is
    unset or blank, or (with a problem) when it is not such a number."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        problems.append(f"{name}={raw!r}: must be {what} from {low:g} to {high:g}")
        return default
    return value


def secret(env: Mapping[str, str], name: str, problems: list[str]) -> str:
    """A webhook secret: unset, or long enough. Never echoed into the problems."""
    secret = env.get(name, "").strip()
    if secret and len(secret) < MIN_SECRET:
        problems.append(f"{name}: must be at least {MIN_SECRET} characters (e.g. the output "
                        "of openssl rand -hex 32)")
    return secret
