"""The README's first commands, as a newcomer copies and pastes them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_commands() -> list[str]:
    found = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert found is not None, "the README has no sh block"
    return found.group(1).strip().splitlines()


def test_the_readme_opens_with_a_virtual_environment_and_the_console() -> None:
    setup, console, tests = first_commands()
    assert setup == "python3 -m venv .venv && . .venv/bin/activate && pip install -e ."
    assert console.split("#")[0].strip() == "touchpoint console"
    assert tests.split("#")[0].strip() == "bash .ci/run"
    opening = README[: README.index("```sh")]
    assert "Python 3.11 or newer" in opening
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert "externally-managed-environment" in README[: README.index("## Contents")]


@pytest.mark.skipif(os.environ.get("TOUCHPOINT_TEST_INSTALL") != "1",
                    reason="installs from the package index; run with TOUCHPOINT_TEST_INSTALL=1")
def test_the_readme_commands_work_in_a_fresh_clone(tmp_path: Path) -> None:
    """Run as written, in a clone of the committed tree, with Debian's own Python where the
    machine has it (it refuses system-wide installs, PEP 668)."""
    clone = tmp_path / "touchpoint"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    system = Path("/usr/bin/python3")
    path = "/usr/bin:/bin" if system.exists() else os.environ["PATH"]
    environment = {"PATH": path, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT"):
        if name in os.environ:
            environment[name] = os.environ[name]
    if system.exists() and list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")):
        refused = subprocess.run([str(system), "-m", "pip", "install", "-e", "."], cwd=clone,
                                 env=environment, capture_output=True, text=True)
        assert refused.returncode != 0
    assert shutil.which("python3", path=path) is not None
    done = subprocess.run(["bash", "-e", "-c", "\n".join(first_commands()[:2])], cwd=clone,
                          env=environment, input="/touchpoint list\n", capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "14 playbooks. Show one with /touchpoint show <id>." in done.stdout
