"""The Teams app package: `teams/manifest.json` with its placeholders filled, and the icons.

A Teams admin uploads the zip; Teams rejects it with terse messages, so the
checks Teams would make (ids, URLs, icon sizes) are made here first, each
with a message that says what to change.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

SOURCE = Path(__file__).resolve().parents[2] / "teams"
"""The template folder in a source checkout (the CLI can point elsewhere)."""
ICON_SIZES = {"color": 192, "outline": 32}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_VERSION = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")
_PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")


class PackageError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("cannot build the Teams package:\n"
                         + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class PackageValues:
    app_id: str
    website_url: str
    privacy_url: str = ""
    """Empty: the website URL (Teams requires one; an intranet page about the bot will do)."""
    terms_url: str = ""
    developer_name: str = "Touchpoint"
    version: str = "1.0.0"
    """Teams only offers an update when this grows."""

    def placeholders(self) -> dict[str, str]:
        return {
            "MICROSOFT_APP_ID": self.app_id,
            "WEBSITE_URL": self.website_url,
            "PRIVACY_URL": self.privacy_url or self.website_url,
            "TERMS_URL": self.terms_url or self.website_url,
            "DEVELOPER_NAME": self.developer_name,
            "VERSION": self.version,
        }

    def problems(self) -> list[str]:
        found = []
        if not _GUID.match(self.app_id):
            found.append(f"app id {self.app_id!r}: must be the bot's Microsoft app id, a GUID "
                         "(pass --app-id or set MicrosoftAppId)")
        for name, url in (("website", self.website_url), ("privacy", self.privacy_url),
                          ("terms", self.terms_url)):
            if name != "website" and not url:
                continue
            parsed = urlparse(url)
            if parsed.scheme != "https" or not parsed.netloc:
                found.append(f"{name} URL {url!r}: Teams needs an https:// URL "
                             f"(--{name}-url)")
        if not _VERSION.match(self.version):
            found.append(f"version {self.version!r}: must be three numbers, like 1.0.0")
        if not 0 < len(self.developer_name) <= 32:
            found.append("developer name: 1 to 32 characters")
        return found


def fill(manifest: Any, values: dict[str, str]) -> Any:
    """The manifest with every `${{NAME}}` replaced, walking the JSON so nothing needs escaping."""
    if isinstance(manifest, dict):
        return {key: fill(item, values) for key, item in manifest.items()}
    if isinstance(manifest, list):
        return [fill(item, values) for item in manifest]
    if isinstance(manifest, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), manifest)
    return manifest


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, or None when it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def build(values: PackageValues, source: Path = SOURCE) -> bytes:
    """The zip a Teams admin uploads: manifest.json and the two icons at its root."""
    problems = values.problems()
    try:
        template = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageError(problems + [f"{source / 'manifest.json'}: {exc}"]) from None
    manifest = fill(template, values.placeholders())
    left = sorted(set(_PLACEHOLDER.findall(json.dumps(manifest))))
    if left:
        problems.append(f"manifest.json: unknown placeholders {', '.join(left)}")
    icons: dict[str, bytes] = {}
    for kind, size in ICON_SIZES.items():
        name = str(manifest.get("icons", {}).get(kind, ""))
        path = source / name
        try:
            data = path.read_bytes() if name else b""
        except OSError as exc:
            problems.append(f"{kind} icon {path}: {exc.strerror}")
            continue
        if png_size(data) != (size, size):
            problems.append(f"{kind} icon {path}: must be a {size}x{size} PNG")
        icons[name] = data
    if problems:
        raise PackageError(problems)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name, data in icons.items():
            archive.writestr(name, data)
    return buffer.getvalue()
