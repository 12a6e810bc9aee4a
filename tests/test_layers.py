"""The layers, kept: `bot/` is the core and does no I/O, `adapters/` never reaches up into
the process (`touchpoint/`), and a command loads only the layers it needs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from serve_process import clean_environment

ROOT = Path(__file__).resolve().parents[1]
BOT_LIBRARIES = {"pydantic", "yaml", "regex"}
"""The third-party packages the core may use: data checking and parsing, no I/O."""
IO_MODULES = {"asyncio", "socket", "ssl", "select", "selectors", "http", "urllib", "subprocess",
              "multiprocessing", "threading", "concurrent", "os", "io", "pathlib", "shutil",
              "tempfile", "sqlite3", "ftplib", "smtplib", "webbrowser"}
"""Standard-library modules that reach outside the process: not for the core."""


def modules(package: str) -> list[Path]:
    found = sorted((ROOT / package).rglob("*.py"))
    assert found, package
    return found


def imported(path: Path) -> set[str]:
    """Every absolute module name `path` imports, wherever in the file (functions,
    `TYPE_CHECKING` blocks) the import is."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_imports_only_itself_the_standard_library_and_its_parsers() -> None:
    stdlib = set(sys.stdlib_module_names) - IO_MODULES
    for path in modules("bot"):
        roots = {name.split(".")[0] for name in imported(path)}
        stray = roots - {"bot", "__future__"} - stdlib - BOT_LIBRARIES
        assert not stray, f"{path.relative_to(ROOT)} imports {sorted(stray)}"


def test_the_core_does_not_open_files() -> None:
    for path in modules("bot"):
        source = path.read_text(encoding="utf-8")
        assert "open(" not in source and "read_text(" not in source, path.name


def test_adapters_never_import_the_process() -> None:
    for path in modules("adapters"):
        upward = {name for name in imported(path) if name.split(".")[0] == "touchpoint"}
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


def loaded_by(argv: list[str], env: dict[str, str]) -> set[str]:
    """The top-level packages a `touchpoint` command has imported once it is done."""
    code = ("import json, sys\nfrom touchpoint import cli\ncode = cli.main(sys.argv[1:])\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_check_loads_no_web_server() -> None:
    env = {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(ROOT / "playbooks")}
    loaded = loaded_by(["check"], env)
    assert "bot" in loaded
    assert "aiohttp" not in loaded


def test_stats_loads_no_chat_platform(redis_url: str, redis_prefix: str) -> None:
    env = {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(ROOT / "playbooks"),
           "REDIS_URL": redis_url, "TOUCHPOINT_REDIS_PREFIX": redis_prefix}
    loaded = loaded_by(["stats", "--json"], env)
    assert "redis" in loaded
    assert not loaded & {"microsoft_agents", "slack_bolt", "slack_sdk"}
