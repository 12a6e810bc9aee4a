"""The settings of Slack's OAuth install, for a Touchpoint installed in many workspaces.

Kept out of `settings` so that module stays one screen of checks per concern;
`Settings.from_env` calls `slack_install` and keeps what it returns. The names
are bolt's own (`SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`, `SLACK_SCOPES`,
`SLACK_REDIRECT_URI`), so an app already run with bolt keeps its environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

_CLIENT_ID = re.compile(r"^\d+\.\d+$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{1,60}$")


@dataclass(frozen=True)
class SlackInstall:
    client_id: str
    client_secret: str = field(repr=False)
    token_key: str = field(repr=False)
    """`TOUCHPOINT_TOKEN_KEY`: a Fernet key; the tokens in the installation store are
    encrypted with it."""
    scopes: tuple[str, ...] = ()
    """Empty: the shipped manifest's bot scopes."""
    redirect_uri: str = ""
    state_expiration: int = 600


def slack_install(env: Mapping[str, str], problems: list[str]) -> SlackInstall | None:
    """None (one workspace, `SLACK_BOT_TOKEN`) unless `SLACK_CLIENT_ID` is set."""
    client_id = env.get("SLACK_CLIENT_ID", "").strip()
    secret = env.get("SLACK_CLIENT_SECRET", "").strip()
    if not client_id:
        if secret:
            problems.append("SLACK_CLIENT_ID: required with SLACK_CLIENT_SECRET (Basic "
                            "Information > App Credentials > Client ID)")
        return None
    # Only now: one workspace's process need not load bolt's OAuth and the crypto library.
    from adapters.slack.installations import TokenKeyError, token_cipher
    from adapters.slack.oauth import REDIRECT_PATH

    if not _CLIENT_ID.match(client_id):
        problems.append(f"SLACK_CLIENT_ID={client_id!r}: must be the app's Client ID "
                        "(digits, a dot, digits)")
    if not secret:
        problems.append("SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID (Basic "
                        "Information > App Credentials > Client Secret)")
    elif len(secret) < 16 or any(c.isspace() for c in secret):
        problems.append("SLACK_CLIENT_SECRET: must be the app's Client Secret (32 characters)")
    token_key = env.get("TOUCHPOINT_TOKEN_KEY", "").strip()
    try:
        token_cipher(token_key)
    except TokenKeyError as exc:
        problems.append(str(exc))
    for name, why in (("SLACK_BOT_TOKEN", "each workspace's token comes from its install"),
                      ("SLACK_APP_TOKEN", "Socket Mode serves one workspace")):
        if env.get(name, "").strip():
            problems.append(f"{name}: must not be set with SLACK_CLIENT_ID ({why})")
    if not env.get("SLACK_SIGNING_SECRET", "").strip():
        problems.append("SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID to verify "
                        "requests to /slack/events")
    raw_scopes = env.get("SLACK_SCOPES", "").strip()
    scopes = tuple(s.strip() for s in raw_scopes.split(",") if s.strip())
    bad = [s for s in scopes if not _SCOPE.match(s)]
    if bad:
        problems.append(f"SLACK_SCOPES: {', '.join(map(repr, bad))} are not scopes (a "
                        "comma-separated list, e.g. chat:write,commands)")
    redirect = env.get("SLACK_REDIRECT_URI", "").strip()
    parsed = urlparse(redirect)
    if redirect and (parsed.scheme not in ("http", "https") or not parsed.netloc
                     or not parsed.path.endswith(REDIRECT_PATH)):
        problems.append(f"SLACK_REDIRECT_URI={redirect!r}: must be an http(s) URL ending in "
                        f"{REDIRECT_PATH}")
    raw_expiry = env.get("SLACK_STATE_EXPIRATION_SECONDS", "").strip() or "600"
    expiry = int(raw_expiry) if raw_expiry.isdigit() else -1
    if not 60 <= expiry <= 3600:
        problems.append(f"SLACK_STATE_EXPIRATION_SECONDS={raw_expiry!r}: must be a whole "
                        "number of seconds from 60 to 3600")
    return SlackInstall(client_id, secret, token_key, scopes, redirect,
                        expiry if 60 <= expiry <= 3600 else 600)
