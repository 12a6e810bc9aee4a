"""`touchpoint teams-package`: the zip a Teams admin uploads, checked the way Teams checks it."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.teams import package as teams_package
from touchpoint import cli

APP_ID = "11111111-2222-3333-4444-555555555555"
SITE = "https://intranet.example.com/touchpoint"
SCHEMA_VERSION = "1.25"
SCHEMA = (Path(__file__).resolve().parents[1] / "fixtures" / "teams_manifest"
          / f"MicrosoftTeams.v{SCHEMA_VERSION}.schema.json")
"""Microsoft's manifest schema, vendored (provenance in SOURCES.md beside it)."""


def schema_problems(manifest: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(manifest)]


@pytest.fixture(autouse=True)
def no_teams_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType",
                 "MicrosoftAppTenantId", "TOUCHPOINT_TEAMS_DEV"):
        monkeypatch.delenv(name, raising=False)


def rgba_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Decode the PNGs we ship (8-bit RGBA, filter 0): enough to check their colours."""
    width, height = struct.unpack(">II", data[16:24])
    assert data[24:29] == bytes([8, 6, 0, 0, 0])
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        if data[position + 4:position + 8] == b"IDAT":
            idat += data[position + 8:position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    pixels = []
    for y in range(height):
        row = raw[y * stride:(y + 1) * stride]
        assert row[0] == 0
        pixels += [tuple(row[1 + 4 * x:5 + 4 * x]) for x in range(width)]
    return width, height, pixels


def run(tmp_path: Path, *args: str) -> tuple[int, Path]:
    output = tmp_path / "touchpoint-teams.zip"
    return cli.main(["teams-package", "-o", str(output), *args]), output


def test_package_has_the_filled_manifest_and_both_icons(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--app-id", APP_ID, "--website-url", SITE, "--version", "2.3.4")
    assert code == 0
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
        color = archive.read("color.png")
        outline = archive.read("outline.png")
    assert "${{" not in json.dumps(manifest)
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "2.3.4"
    assert manifest["developer"]["privacyUrl"] == SITE
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert commands == ["help", "list", "show", "mute", "unmute", "subscribe", "unsubscribe",
                        "nudges"]
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in \
        manifest["authorization"]["permissions"]["resourceSpecific"]
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80

    width, height, pixels = rgba_pixels(color)
    assert (width, height) == (192, 192)
    assert all(p[3] == 255 for p in pixels)
    width, height, pixels = rgba_pixels(outline)
    assert (width, height) == (32, 32)
    assert all(p[:3] == (255, 255, 255) for p in pixels)  # white on transparent only
    assert {p[3] for p in pixels} >= {0, 255}


def test_app_id_comes_from_the_environment(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "s3cret")
    monkeypatch.setenv("MicrosoftAppTenantId", "a1b2c3d4-e5f6-7890-abcd-ef1234567890")
    code, output = run(tmp_path, "--website-url", SITE)
    assert code == 0
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["bots"][0]["botId"] == APP_ID
    assert "s3cret" not in json.dumps(manifest)


def test_missing_values_are_named_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(tmp_path, "--app-id", "my-bot", "--website-url", "http://plain.example")
    assert code == 2
    assert not output.exists()
    err = capsys.readouterr().err
    assert "app id 'my-bot'" in err and "https://" in err


def test_a_wrong_icon_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "teams"
    shutil.copytree(teams_package.SOURCE, source)
    shutil.copy(source / "color.png", source / "outline.png")
    with pytest.raises(teams_package.PackageError) as info:
        teams_package.build(teams_package.PackageValues(APP_ID, SITE), source)
    assert info.value.problems == [f"outline icon {source / 'outline.png'}: must be a 32x32 PNG"]


def test_shipped_icons_are_what_make_icons_draws() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_icons",
                                                  teams_package.SOURCE / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (teams_package.SOURCE / "color.png").read_bytes() == module.color_icon()
    assert (teams_package.SOURCE / "outline.png").read_bytes() == module.outline_icon()


def test_the_manifest_template_follows_microsofts_schema() -> None:
    template = json.loads((teams_package.SOURCE / "manifest.json").read_text(encoding="utf-8"))
    assert template["manifestVersion"] == SCHEMA_VERSION
    assert template["$schema"].endswith(f"/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json")
    values = teams_package.PackageValues(app_id=APP_ID, website_url=SITE).placeholders()
    assert schema_problems(teams_package.fill(template, values)) == []


def test_the_built_package_follows_microsofts_schema(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--app-id", APP_ID, "--website-url", SITE,
                       "--privacy-url", SITE + "/privacy", "--developer-name", "Example Ltd")
    assert code == 0
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert schema_problems(manifest) == []


def test_the_schema_check_finds_real_mistakes() -> None:
    """The vendored schema is strict enough to matter: these are what Teams rejects."""
    template = json.loads((teams_package.SOURCE / "manifest.json").read_text(encoding="utf-8"))
    manifest = teams_package.fill(template, teams_package.PackageValues(
        app_id=APP_ID, website_url=SITE).placeholders())
    broken = json.loads(json.dumps(manifest))
    broken["id"] = "not-a-guid"
    broken["bots"][0]["scopes"] = ["everywhere"]
    broken["unknownField"] = 1
    found = schema_problems(broken)
    assert any(p.startswith("id:") for p in found), found
    assert any(p.startswith("bots/0/scopes/0:") for p in found), found
    assert any("unknownField" in p for p in found), found


def test_the_message_action_is_declared_as_the_adapter_expects() -> None:
    from adapters.teams import extension as teams_extension

    template = json.loads((teams_package.SOURCE / "manifest.json").read_text(encoding="utf-8"))
    [extension] = template["composeExtensions"]
    assert extension["botId"] == template["bots"][0]["botId"]
    [command] = extension["commands"]
    assert command["id"] == teams_extension.COMMAND_ID
    assert (command["type"], command["context"], command["fetchTask"]) == (
        "action", ["message"], True)
