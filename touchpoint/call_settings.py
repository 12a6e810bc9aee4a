"""The settings of the senders of call nudges: Touchpoint's own hook, Gong, Zoom."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from touchpoint.call_signatures import load_public_key, webhook_key
from touchpoint.env_checks import FLAGS, MIN_TOKEN, number

if TYPE_CHECKING:  # the defaults' type only: settings imports this module
    from touchpoint.settings import Settings


class CallSettings(TypedDict):
    call_webhook_secret: str
    webhook_legacy: bool
    gong_public_key: str
    gong_url_key: str
    zoom_secret: str
    call_lease: float
    call_retry_max: float


def call_settings(env: Mapping[str, str], problems: list[str], defaults: Settings) -> CallSettings:
    """The senders of call nudges: Touchpoint's own hook, Gong, Zoom.

    Secrets and keys are never echoed into the problems.
    """
    secret = env.get("TOUCHPOINT_CALL_WEBHOOK_SECRET", "").strip()
    if secret:
        try:
            key = webhook_key(secret) if secret.startswith("whsec_") else b""
        except ValueError:
            key = b""
        if len(key) < MIN_TOKEN:
            problems.append(f"TOUCHPOINT_CALL_WEBHOOK_SECRET: must be whsec_ followed by the "
                            f"base64 of at least {MIN_TOKEN} random bytes (e.g. whsec_$(openssl "
                            "rand -base64 32))")
    raw_legacy = env.get("TOUCHPOINT_WEBHOOK_LEGACY", "").strip().lower()
    legacy = FLAGS.get(raw_legacy)
    if legacy is None:
        problems.append(f"TOUCHPOINT_WEBHOOK_LEGACY={raw_legacy!r}: must be 1 or 0")
    gong_key = env.get("TOUCHPOINT_GONG_PUBLIC_KEY", "").strip()
    if gong_key and "-----BEGIN" not in gong_key and len(gong_key) < 200:
        path = Path(gong_key)
        try:
            gong_key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"TOUCHPOINT_GONG_PUBLIC_KEY: neither a PEM key nor a readable file "
                            f"({type(exc).__name__})")
            gong_key = ""
    if gong_key:
        try:
            load_public_key(gong_key)
        except ValueError:
            problems.append("TOUCHPOINT_GONG_PUBLIC_KEY: not an RSA public key (copy it from the "
                            "Gong rule's Show public key, or give the path of a PEM file)")
    url_key = env.get("TOUCHPOINT_GONG_URL_KEY", "").strip()
    if url_key and not (MIN_TOKEN <= len(url_key) <= 256 and re.match(r"^[\w.~-]+$", url_key)):
        problems.append(f"TOUCHPOINT_GONG_URL_KEY: must be {MIN_TOKEN} to 256 letters, digits, "
                        "'-', '_', '.' or '~' (e.g. the output of openssl rand -hex 32)")
    zoom = env.get("TOUCHPOINT_ZOOM_SECRET", "").strip()
    if zoom and (len(zoom) < MIN_TOKEN or any(c.isspace() for c in zoom)):
        problems.append(f"TOUCHPOINT_ZOOM_SECRET: must be the app's Secret Token (at least "
                        f"{MIN_TOKEN} characters, no spaces)")

    def seconds(name: str, default: float, low: float, high: float) -> float:
        return number(problems, name, env.get(name), default, low, high, "a number of seconds")

    return {
        "call_webhook_secret": secret,
        "webhook_legacy": bool(legacy),
        "gong_public_key": gong_key,
        "gong_url_key": url_key,
        "zoom_secret": zoom,
        "call_lease": seconds("TOUCHPOINT_CALL_LEASE", defaults.call_lease, 1, 3600),
        "call_retry_max": seconds("TOUCHPOINT_CALL_RETRY_MAX", defaults.call_retry_max, 0.1,
                                  86400),
    }
