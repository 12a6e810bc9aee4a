"""Review tooling from the command line: annotations, capture reports, diff, stats."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from live_support import PlaybookRepo, break_weight, copy_playbooks

from adapters.redis_store import RedisStore
from bot.analytics import iso_week
from touchpoint.cli import parser

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"^::error file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$")


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCH", "REDIS_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "touchpoint.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=environment, timeout=300)


def add_example(path: Path, text: str) -> None:
    """Give a playbook one more `match` example (the first `match:` list is the examples')."""
    source = path.read_text()
    at = source.index("  match:\n") + len("  match:\n")
    path.write_text(source[:at] + f"    - {json.dumps(text)}\n" + source[at:])


def test_check_github_annotations(tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    line = break_weight(folder / "renewal.yaml")
    done = run("check", "--format", "github", str(folder))
    assert done.returncode == 1
    [annotation] = done.stdout.splitlines()
    found = ANNOTATION.match(annotation)
    assert found, annotation
    source, number, column, title, message = found.groups()
    assert source == str(folder / "renewal.yaml") and int(number) == line
    assert int(column) >= 1 and title.startswith("touchpoint check%3A triggers[")
    assert "must be a number between 0 and 1" in message
    assert f"renewal.yaml:{line}:" in done.stderr, "the plain error stays on stderr"
    ok = run("check", "--format", "github", str(copy_playbooks(tmp_path / "good")))
    assert ok.returncode == 0 and "::error" not in ok.stdout


def test_test_reports_what_a_changed_playbook_captures(tmp_path: Path) -> None:
    base = copy_playbooks(tmp_path / "base")
    changed = copy_playbooks(tmp_path / "changed")
    taken = yaml.safe_load((base / "price-objection.yaml").read_text())["examples"]["match"][0]
    add_example(changed / "renewal.yaml", taken)
    done = run("test", str(changed), "--changed", "renewal")
    assert "renewal: now captures" in done.stdout, done.stdout
    assert re.search(rf"(takes|contests) price-objection's example .*\"{re.escape(taken)}\"",
                     done.stdout), done.stdout
    against = run("test", str(changed), "--base", str(base))
    assert "changed since" in against.stdout and ": renewal" in against.stdout
    assert "renewal: now captures 1 example(s) of other playbooks since the base" \
        in against.stdout, against.stdout
    assert "was 0." in against.stdout
    same = run("test", str(base), "--base", str(base))
    assert same.returncode == 0 and "changed since" in same.stdout
    assert "no playbook" in same.stdout
    unknown = run("test", str(base), "--changed", "nope")
    assert "--changed nope: no such playbook" in unknown.stdout


def test_diff_between_two_folders(tmp_path: Path) -> None:
    old = copy_playbooks(tmp_path / "old")
    new = copy_playbooks(tmp_path / "new", [n for n in os.listdir(old) if "gift" not in n])
    messages = tmp_path / "messages.jsonl"
    messages.write_text('{"text": "the flowers we sent never arrived", "expected": null}\n'
                        "we shipped a gift basket to the client\n")
    done = run("diff", str(old), str(new), "--messages", str(messages))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(re.match(r"^guide\s+customer-gift -> ", line)
               and "the flowers we sent never arrived" in line for line in lines), lines
    summary = re.match(r"^(\d+) of (\d+) messages match differently \(guide (\d+), nudge (\d+)\)$",
                       lines[-1])
    assert summary and int(summary.group(1)) > 0 and int(summary.group(3)) > 0
    as_json = run("diff", str(old), str(new), "--mode", "guide", "--json", "--exit-code")
    assert as_json.returncode == 1
    changes = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert all(c["mode"] == "guide" for c in changes)
    assert any(c["before"] == "customer-gift" and c["after"] != "customer-gift" for c in changes)
    same = run("diff", str(old), str(old), "--exit-code")
    assert same.returncode == 0 and same.stdout.startswith("0 of ")


def test_diff_between_two_git_revisions(tmp_path: Path) -> None:
    repo = PlaybookRepo(tmp_path / "host")
    (repo.folder / "customer-gift.yaml").unlink()
    repo.push("Drop the gift playbook")
    done = run("--playbooks", "playbooks", "diff", "HEAD~1", "HEAD", cwd=repo.work)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^guide\s+customer-gift -> ", done.stdout, re.M), done.stdout
    spelled = run("diff", "HEAD~1:playbooks", "playbooks", "--mode", "guide", cwd=repo.work)
    guide = re.search(r"\(guide (\d+)", done.stdout)
    assert guide and spelled.stdout.splitlines()[-1].endswith(f"(guide {guide.group(1)})")
    bad = run("diff", "no-such-rev", "playbooks", cwd=repo.work)
    assert bad.returncode == 2 and "neither a folder nor a git revision" in bad.stderr
    changed = run("test", "playbooks", "--base", "HEAD~1", cwd=repo.work)
    assert "changed since HEAD~1: no playbook (removed: customer-gift)" in changed.stdout


async def test_stats_table_and_json(redis_url: str, redis_prefix: str) -> None:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    week = iso_week(time.time())
    try:
        for counter, times in (("guide:price-objection", 3), ("helpful:price-objection", 2),
                               ("not_helpful:price-objection", 1), ("nudge:renewal", 4),
                               ("unmatched", 1)):
            await store.incr_week(week, counter, times)
        await store.add_question(week, "how do I book a booth at the fair", keep=10)
    finally:
        await store.close()
    env = {"REDIS_URL": redis_url, "TOUCHPOINT_REDIS_PREFIX": redis_prefix}
    table = run("stats", env=env)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line.split() for line in table.stdout.splitlines() if line.strip()}
    assert rows["playbook"][:3] == ["playbook", "guide", "nudge"]
    assert rows["price-objection"][1:] == ["3", "0", "2", "1", "0", "67"]
    assert rows["renewal"][1:3] == ["0", "4"]
    assert rows["total"][1:3] == ["3", "4"]
    assert "online-comment" in rows, "unused playbooks show as zeros"
    assert "  - how do I book a booth at the fair" in table.stdout
    as_json = run("stats", "--json", "--weeks", "2", env=env)
    data = json.loads(as_json.stdout)
    assert [w["week"] for w in data["weeks"]][0] == week and len(data["weeks"]) == 2
    assert data["total"]["playbooks"]["price-objection"]["helpful"] == 2
    assert data["weeks"][0]["questions"] == ["how do I book a booth at the fair"]
    assert data["total"]["unmatched"] == 1


def test_stats_needs_redis() -> None:
    done = run("stats")
    assert done.returncode == 2 and "REDIS_URL" in done.stderr


def test_shipped_workflow_and_hooks_use_real_commands() -> None:
    """The files a playbook repository copies must call commands this CLI accepts."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "playbooks.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["playbooks"]["steps"])
    assert 'touchpoint check --format github "$TOUCHPOINT_PLAYBOOKS"' in script
    assert 'touchpoint test "$TOUCHPOINT_PLAYBOOKS" --base "$BASE"' in script
    for argv in (["check", "--format", "github", "playbooks"],
                 ["test", "playbooks", "--base", "abc123"],
                 ["--playbooks", "playbooks", "diff", "abc123", "playbooks"]):
        parser().parse_args(argv)
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"touchpoint-check", "touchpoint-test"}
    for hook in hooks:
        program, *argv = hook["entry"].split()
        assert program == "touchpoint" and hook["pass_filenames"] is False
        parser().parse_args([*argv, "playbooks"])
        assert re.search(hook["files"], "playbooks/renewal.yaml")


@pytest.mark.parametrize("argv", [["diff", "a"], ["stats", "--weeks", "x"]])
def test_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(argv)
