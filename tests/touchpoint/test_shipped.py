"""The playbooks and manifests shipped with Touchpoint, found from a checkout and from a wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from touchpoint import shipped

ROOT = Path(__file__).resolve().parents[2]


def test_the_playbook_folder_is_the_setting_then_local_then_shipped(tmp_path: Path) -> None:
    assert shipped.playbooks("/srv/ours", tmp_path) == (Path("/srv/ours"), "TOUCHPOINT_PLAYBOOKS")
    assert shipped.playbooks("", tmp_path) == (ROOT / "playbooks", shipped.SHIPPED)
    (tmp_path / "playbooks").mkdir()
    assert shipped.playbooks("", tmp_path) == (Path("playbooks"), "./playbooks")


def test_the_checkout_folders_are_found() -> None:
    assert (shipped.folder("teams") / "manifest.json").is_file()
    assert (shipped.folder("slack") / "manifest.yaml").is_file()
    assert (shipped.folder("playbooks") / "renewal.yaml").is_file()


def _setuptools_can_build() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.mark.skipif(not _setuptools_can_build(), reason="needs setuptools>=77 (the test extra)")
def test_a_wheel_works_from_any_folder(tmp_path: Path) -> None:
    """Built from the sources alone and run from another folder: the console answers with
    the shipped playbooks, and teams-package finds its manifest and icons."""
    source = tmp_path / "source"
    for name in ("bot", "adapters", "touchpoint", "playbooks", "slack", "teams"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("touchpoint-*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
        names = archive.namelist()
    assert "touchpoint/shipped/teams/manifest.json" in names
    assert "touchpoint/shipped/slack/manifest.yaml" in names
    assert "touchpoint/shipped/playbooks/renewal.yaml" in names
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCH", "Microsoft"))}
    environment["PYTHONPATH"] = str(installed)

    def touchpoint(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "touchpoint.cli", *args], input=stdin,
                              capture_output=True, text=True, cwd=elsewhere, env=environment,
                              timeout=120)

    where = subprocess.run([sys.executable, "-c", "import touchpoint; print(touchpoint.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, env=environment)
    assert where.stdout.startswith(str(installed)), where
    console = touchpoint("console", stdin="/touchpoint show renewal\n")
    assert console.returncode == 0, console.stderr
    assert "Renewal or expansion" in console.stdout
    assert str(installed / "touchpoint" / "shipped" / "playbooks") in console.stderr
    package = touchpoint("teams-package", "--app-id", "00000000-0000-0000-0000-000000000001",
                         "--website-url", "https://intranet.example/touchpoint")
    assert package.returncode == 0, package.stderr
    with zipfile.ZipFile(elsewhere / "touchpoint-teams.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
