"""The settings of the call senders: Touchpoint's own hook, Gong, Zoom, and the outbox."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from touchpoint.settings import Settings, SettingsError

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_defaults_turn_every_call_route_off() -> None:
    settings = Settings.from_env({})
    assert (settings.call_webhook_secret, settings.gong_public_key, settings.gong_url_key,
            settings.zoom_secret, settings.webhook_legacy) == ("", "", "", "", False)
    assert settings.call_lease == 60 and settings.call_retry_max == 300


def test_values_are_read_and_never_shown(tmp_path: Path) -> None:
    key_file = tmp_path / "gong.pem"
    key_file.write_text(PEM)
    settings = Settings.from_env({
        "TOUCHPOINT_CALL_WEBHOOK_SECRET": f" {WHSEC} ", "TOUCHPOINT_WEBHOOK_LEGACY": "1",
        "TOUCHPOINT_GONG_PUBLIC_KEY": str(key_file), "TOUCHPOINT_GONG_URL_KEY": "k" * 32,
        "TOUCHPOINT_ZOOM_SECRET": "zoom-secret-token-0123", "TOUCHPOINT_CALL_LEASE": "5",
        "TOUCHPOINT_CALL_RETRY_MAX": "0.5",
    })
    assert settings.call_webhook_secret == WHSEC and settings.webhook_legacy
    assert settings.gong_public_key == PEM.strip() and settings.gong_url_key == "k" * 32
    assert settings.zoom_secret == "zoom-secret-token-0123"
    assert settings.call_lease == 5 and settings.call_retry_max == 0.5
    shown = repr(settings)
    assert WHSEC not in shown and "zoom-secret" not in shown and "kkkk" not in shown


def test_the_gong_key_as_pem_text_or_the_bare_base64_gong_shows() -> None:
    assert Settings.from_env({"TOUCHPOINT_GONG_PUBLIC_KEY": PEM}).gong_public_key == PEM.strip()
    bare = "".join(PEM.strip().splitlines()[1:-1])
    assert Settings.from_env({"TOUCHPOINT_GONG_PUBLIC_KEY": bare}).gong_public_key == bare


@pytest.mark.parametrize("name, value, problem", [
    ("TOUCHPOINT_CALL_WEBHOOK_SECRET", "plain-text-secret-123", "must be whsec_ followed by"),
    ("TOUCHPOINT_CALL_WEBHOOK_SECRET", "whsec_c2hvcnQ=", "at least 16 random bytes"),
    ("TOUCHPOINT_CALL_WEBHOOK_SECRET", "whsec_not base64!", "must be whsec_"),
    ("TOUCHPOINT_WEBHOOK_LEGACY", "maybe", "must be 1 or 0"),
    ("TOUCHPOINT_GONG_PUBLIC_KEY", "/no/such/key.pem", "neither a PEM key nor a readable file"),
    ("TOUCHPOINT_GONG_PUBLIC_KEY", "A" * 300, "not an RSA public key"),
    ("TOUCHPOINT_GONG_URL_KEY", "short", "must be 16 to 256"),
    ("TOUCHPOINT_GONG_URL_KEY", "with spaces in it, 0123456789", "must be 16 to 256"),
    ("TOUCHPOINT_ZOOM_SECRET", "short", "Secret Token"),
    ("TOUCHPOINT_CALL_LEASE", "0", "from 1 to 3600"),
    ("TOUCHPOINT_CALL_RETRY_MAX", "forever", "a number of seconds"),
])
def test_problems_are_named_without_the_secret(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    (found,) = caught.value.problems
    assert found.startswith(name) and problem in found
    if "SECRET" in name or "KEY" in name:
        assert value not in found
