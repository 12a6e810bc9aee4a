"""`bot/` stays free of I/O frameworks, so every platform and test can drive it."""

import ast
from pathlib import Path

FORBIDDEN = {"slack_bolt", "slack_sdk", "botbuilder", "botframework", "microsoft_agents", "jwt",
             "aiohttp", "redis",
             "apscheduler", "requests", "socket", "http", "urllib", "asyncio", "subprocess",
             "adapters", "touchpoint"}
BOT = Path(__file__).resolve().parents[2] / "bot"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_bot_imports_no_io_framework() -> None:
    files = sorted(BOT.glob("*.py"))
    assert files
    for path in files:
        assert not imported_roots(path) & FORBIDDEN, path.name


def test_bot_does_not_open_files() -> None:
    for path in sorted(BOT.glob("*.py")):
        source = path.read_text()
        assert "open(" not in source and "read_text(" not in source, path.name
