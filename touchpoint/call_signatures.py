"""Who may report a call: each sender's signature, checked before its body is read.

- Touchpoint's own hook: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
  `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
- Zoom: `x-zm-signature: v0=<hex HMAC-SHA256 of "v0:timestamp:body">`, keyed
  with the app's secret token, which also answers the URL validation challenge.
- Gong: an RS256 JWT in `Authorization`, signed with the rule's key, whose
  claims bind it to this URL (`webhook_url`), this body (`body_sha256`) and a
  time (`exp`); or, the other option Gong offers, a key in the URL.

Every check answers None when the request is good, or what is wrong (for the
log; the sender only hears 401). Timestamps bound replays: a captured request
is refused once it is older than the tolerance, and within it the delivery's
id is recognised by the outbox.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOLERANCE = 300.0
"""Seconds a signed timestamp may be away from our clock, either way."""
SECRET_PREFIX = "whsec_"
MAX_TOKEN = 8192


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: `whsec_` + base64 decoded, as the spec
    says; any other string (the shared TOUCHPOINT_WEBHOOK_SECRET) is used as its UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    return secret.encode()


def _raw(header: str) -> bytes:
    """A header's bytes: aiohttp hands undecodable ones over as surrogates, which a plain
    `encode()` refuses with an exception."""
    return header.encode("utf-8", errors="surrogateescape")


def webhook_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = _raw(msg_id) + b"." + _raw(timestamp) + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _timestamp(raw: str | None, now: float, tolerance: float) -> str | None:
    # ASCII digits only: "²".isdigit() holds, and int() refuses it.
    if not raw or not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 12:
        return "a missing or malformed timestamp"
    if abs(now - int(raw)) > tolerance:
        return f"a timestamp {int(now - int(raw))} s away from ours (stale or replayed)"
    return None


def check_webhook(key: bytes, headers: Mapping[str, str], body: bytes, now: float,
                  tolerance: float = TOLERANCE) -> str | None:
    """Standard Webhooks: one of the space-separated `v1,` signatures must match."""
    msg_id = headers.get("webhook-id", "")
    if not msg_id or len(msg_id) > 256 or any(c.isspace() for c in msg_id):
        return "a missing or malformed webhook-id"
    raw = headers.get("webhook-timestamp")
    late = _timestamp(raw, now, tolerance)
    if late:
        return late
    assert raw is not None
    expected = webhook_signature(key, msg_id, raw.strip(), body).encode()
    given = headers.get("webhook-signature", "").split()
    if any(hmac.compare_digest(expected, _raw(g)) for g in given if g.startswith("v1,")):
        return None
    return "no matching webhook-signature"


def zoom_signature(secret: str, timestamp: str, body: bytes) -> str:
    signed = b"v0:" + _raw(timestamp) + b":" + body
    return "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def zoom_challenge(secret: str, plain_token: str) -> str:
    """The `encryptedToken` of Zoom's `endpoint.url_validation`: hex HMAC of the plain token."""
    return hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()


def check_zoom(secret: str, headers: Mapping[str, str], body: bytes, now: float,
               tolerance: float = TOLERANCE) -> str | None:
    raw = headers.get("x-zm-request-timestamp")
    late = _timestamp(raw, now, tolerance)
    if late:
        return late
    assert raw is not None
    expected = zoom_signature(secret, raw.strip(), body).encode()
    if hmac.compare_digest(expected, _raw(headers.get("x-zm-signature", "").strip())):
        return None
    return "no matching x-zm-signature"


def load_public_key(value: str) -> rsa.RSAPublicKey:
    """Gong's "Show public key": PEM, or the bare base64 body Gong displays; `ValueError`
    when it is neither or not an RSA key."""
    text = value.strip()
    if "-----BEGIN" not in text:
        body = "".join(text.split())
        text = f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_gong(key: rsa.RSAPublicKey, authorization: str | None, body: bytes, url: str,
               now: float, leeway: float = 60.0) -> str | None:
    """The signed JWT header: RS256 by the rule's key, not expired, for this URL and body.

    `url` is the address the request came to; only its path and query are compared
    with the `webhook_url` claim, since a proxy in front may change scheme and host.
    """
    token = (authorization or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    parts = token.split(".")
    if not token or len(token) > MAX_TOKEN or len(parts) != 3:
        return "a missing or malformed JWT in Authorization"
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        return "a JWT that is not base64url JSON"
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return "a JWT not signed with RS256"
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except InvalidSignature:
        return "a JWT not signed with the rule's key"
    if not isinstance(claims, dict):
        return "JWT claims that are not an object"
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return "a JWT without an expiry (exp)"
    if now > expires + leeway:
        return f"a JWT that expired {int(now - expires)} s ago"
    digest = claims.get("body_sha256")
    if not isinstance(digest, str) or not hmac.compare_digest(
            digest.lower().encode(), hashlib.sha256(body).hexdigest().encode()):
        return "a JWT for another body (body_sha256)"
    claimed = claims.get("webhook_url")
    if not isinstance(claimed, str) or _path(claimed) != _path(url):
        return "a JWT for another URL (webhook_url)"
    return None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"


def check_url_key(expected: str, given: str | None) -> str | None:
    """Gong's "URL includes key" option: the rule's URL carries `?key=<token>`."""
    if given and hmac.compare_digest(expected.encode(), given.encode()):
        return None
    return "a missing or wrong key in the URL"


def webhook_headers(secret: str, body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    """The three headers a Standard Webhooks sender adds (scripts, tests and the docs' example)."""
    stamp = str(timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": stamp,
            "webhook-signature": webhook_signature(webhook_key(secret), msg_id, stamp, body)}
