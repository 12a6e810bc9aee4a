"""The `touchpoint` command, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "", cwd: Path = ROOT,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOUCH"))}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "touchpoint.cli", *args], input=stdin, capture_output=True,
        text=True, cwd=cwd, env=environment, timeout=120,
    )


def test_check_ok() -> None:
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 14 playbooks")


def test_check_reports_errors_with_position(tmp_path: Path) -> None:
    good = (ROOT / "playbooks" / "renewal.yaml").read_text()
    (tmp_path / "renewal.yaml").write_text(good.replace("weight: 0.", "weight: 7.", 1))
    (tmp_path / "copy.yaml").write_text(good)
    done = run("check", str(tmp_path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert any(": must be a number between 0 and 1" in line and "renewal.yaml:" in line
               and ".weight" in line for line in lines), lines
    assert any("is already used by" in line for line in lines) or len(lines) == 1


def test_check_missing_folder(tmp_path: Path) -> None:
    done = run("check", str(tmp_path / "nope"))
    assert done.returncode == 1 and "no such folder" in done.stderr


def test_playbooks_from_environment(tmp_path: Path) -> None:
    done = run("check", env={"TOUCHPOINT_PLAYBOOKS": str(tmp_path)})
    assert done.returncode == 1 and "no playbook files" in done.stderr


def test_bad_setting_is_named() -> None:
    done = run("check", env={"TOUCHPOINT_LOG_LEVEL": "chatty"})
    assert done.returncode == 2 and "TOUCHPOINT_LOG_LEVEL" in done.stderr


def test_test_command_passes_on_shipped_playbooks() -> None:
    done = run("test")
    assert done.returncode == 0, done.stdout
    assert "PASS renewal" in done.stdout and "14 passed, 0 failed" in done.stdout


def test_test_command_fails_on_a_bad_example(tmp_path: Path) -> None:
    for source in (ROOT / "playbooks").glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text())
    path = tmp_path / "renewal.yaml"
    example = "their renewal is due but first fix the parking"
    path.write_text(path.read_text().replace("  match:\n", f"  match:\n    - {example!r}\n", 1))
    done = run("test", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL renewal" in done.stdout and example in done.stdout


def test_match_json_from_stdin() -> None:
    done = run("match", "--json", stdin="the client says we're too expensive\nlunch?\n")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["playbook"] == "price-objection" and first["why"] and first["score"] > 0
    assert first["text"] == "the client says we're too expensive"
    assert second["playbook"] is None


def test_match_nudge_mode_with_text_arguments() -> None:
    done = run("match", "--mode", "nudge", "--json", "lunch", "order", "anyone?")
    assert json.loads(done.stdout)["playbook"] is None


def test_match_json_lists_every_candidate_above_the_floor() -> None:
    text = "customer asked at the booth about pricing"
    everything = json.loads(run("match", "--json", text).stdout)["candidates"]
    scores = [c["score"] for c in everything]
    assert len(everything) >= 3 and scores == sorted(scores, reverse=True)
    assert {"event-booth", "price-objection"} <= {c["playbook"] for c in everything}
    above = json.loads(run("match", "--json", "--floor", str(scores[1]), text).stdout)
    assert above["candidates"] == everything[:2]


def test_match_floor_must_be_a_score() -> None:
    done = run("match", "--json", "--floor", "2", "hello")
    assert done.returncode == 2 and "between 0 and 1" in done.stderr


def test_console_session() -> None:
    script = ("/touchpoint help\n/touchpoint show renewal\n"
              "/touchpoint our customer is furious and threatening to cancel\n"
              "/press helpful unhappy-customer\nlunch anyone?\n")
    done = run("console", stdin=script)
    assert done.returncode == 0, done.stderr
    assert "Commands" in done.stdout and "Renewal" in done.stdout
    assert "[Helpful: /press helpful unhappy-customer]" in done.stdout
    assert "Glad it helped." in done.stdout and "stays quiet" in done.stdout


def test_schema_is_json_schema() -> None:
    done = run("schema")
    schema = json.loads(done.stdout)
    assert schema["title"] == "Touchpoint playbook"
    assert {"id", "triggers", "examples"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("args", [["nonsense"], []])
def test_usage_errors(args: list[str]) -> None:
    assert run(*args).returncode == 2


@pytest.mark.parametrize(("args", "name"), [([], "playbook.schema.json"),
                                            (["--background"], "background.schema.json")])
def test_published_schemas_are_current(args: list[str], name: str) -> None:
    published = json.loads((ROOT / "playbooks" / name).read_text())
    assert json.loads(run("schema", *args).stdout) == published


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`touchpoint schema | head -1`: the pipe closes before the schema is written."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOUCH"))}
    with subprocess.Popen([sys.executable, "-m", "touchpoint.cli", "schema"], cwd=ROOT,
                          env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        errors = proc.stderr.read()
    assert proc.returncode in (0, 1)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
