"""Signed webhooks: the `X-Hub-Signature-256` scheme GitHub, Gitea and Forgejo use.

Every `/hooks/...` route (each with its own secret) uses this one check, so there
is a single place where a comparison could go wrong.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value a sender computes: `sha256=<hex HMAC of the raw body>`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """True only for a configured secret and a matching signature of these exact bytes.

    Compared in constant time, so the answer's timing says nothing about the secret.
    """
    if not secret or not signature or not signature.startswith(PREFIX):
        return False
    # aiohttp hands undecodable header bytes over as surrogates, which cannot be encoded back.
    given = signature.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(sign(secret, body).encode(), given)
