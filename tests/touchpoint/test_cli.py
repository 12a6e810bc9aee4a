"""The `touchpoint` command, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import select
import signal
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


def test_check_reports_routing_yaml_errors_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "renewal.yaml").write_text((ROOT / "playbooks" / "renewal.yaml").read_text())
    (tmp_path / "routing.yaml").write_text("routes:\n  - email_domain: example.com\n"
                                           "    channel: '#sales'\n")
    done = run("check", str(tmp_path))
    assert done.returncode == 1
    assert f"{tmp_path / 'routing.yaml'}:3:" in done.stderr
    assert "routes[0].channel" in done.stderr and "slack:<channel id>" in done.stderr


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
    text = "customer at the booth asked for a discount"
    everything = json.loads(run("match", "--json", text).stdout)["candidates"]
    scores = [c["score"] for c in everything]
    assert len(everything) >= 2 and scores == sorted(scores, reverse=True)
    assert {"event-booth", "price-objection"} <= {c["playbook"] for c in everything}
    above = json.loads(run("match", "--json", "--floor", str(scores[0]), text).stdout)
    assert above["candidates"] == everything[:1]


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


def test_console_explain_shows_the_full_evidence() -> None:
    said = "/touchpoint the client says we are too expensive\n"
    plain = run("console", stdin=said)
    assert "Matched because you mentioned" in plain.stdout and "Score" not in plain.stdout
    explained = run("console", "--explain", stdin=said)
    assert "== Evidence ==" in explained.stdout and "Score 1.00" in explained.stdout


def test_commands_find_the_playbooks_from_any_folder(tmp_path: Path) -> None:
    """The setting, else ./playbooks, else the shipped ones; the console says which."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run("check", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 14 playbooks")
    assert "using the ones shipped with Touchpoint" in done.stderr
    answered = run("console", stdin="/touchpoint show renewal\n", cwd=elsewhere)
    assert answered.returncode == 0 and "Renewal or expansion" in answered.stdout
    own = tmp_path / "own"
    (own / "playbooks").mkdir(parents=True)
    (own / "playbooks" / "renewal.yaml").write_text(
        (ROOT / "playbooks" / "renewal.yaml").read_text())
    done = run("check", cwd=own)
    assert done.stdout.startswith("ok: 1 playbooks, ") and "shipped" not in done.stderr
    done = run("check", cwd=own, env={"TOUCHPOINT_PLAYBOOKS": str(elsewhere)})
    assert done.returncode == 1 and f"{elsewhere}:1:1: no playbook files" in done.stderr


def _read_until(fd: int, seen: bytearray, marker: bytes, count: int = 1) -> None:
    while seen.count(marker) < count:
        ready, _, _ = select.select([fd], [], [], 120)
        assert ready, f"no {marker!r} in {bytes(seen)!r}"
        chunk = os.read(fd, 65536)
        assert chunk, f"output ended without {marker!r}: {bytes(seen)!r}"
        seen.extend(chunk)


def _interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, again until the process ends: a SIGINT that lands in the instant between
    readline drawing the prompt and waiting for a key is only acted on at the next one
    (CPython's readline looks at signals when a signal interrupts that wait)."""
    while True:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=1)
            return
        except subprocess.TimeoutExpired:
            continue


def test_console_edits_lines_keeps_history_and_ends_quietly_on_ctrl_c(tmp_path: Path) -> None:
    """In a terminal: the Up arrow brings the last line back (readline), the history is
    kept for the next session, and Ctrl-C (SIGINT) ends it without a traceback."""
    pytest.importorskip("readline")
    import pty

    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCH", "PYTHONUNBUFFERED"))}
    environment.update(HOME=str(tmp_path), TERM="xterm", INPUTRC="/dev/null")
    terminal, side = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "touchpoint.cli", "console"], stdin=side,
                          stdout=side, stderr=subprocess.PIPE, cwd=tmp_path, env=environment,
                          ) as proc:
        os.close(side)
        seen = bytearray()
        _read_until(terminal, seen, b"you> ")
        assert b"14 playbooks from " in seen and b"(shipped with Touchpoint)" in seen
        os.write(terminal, b"/touchpoint list\r")
        _read_until(terminal, seen, b"you> ", 2)
        os.write(terminal, b"\x1b[A\r")  # Up arrow, Enter: the same command again
        _read_until(terminal, seen, b"you> ", 3)
        assert seen.count(b"14 playbooks. Show one with") == 2
        assert b"^[[A" not in seen
        _interrupt(proc)
        assert proc.stderr is not None
        errors = proc.stderr.read().decode()
    os.close(terminal)
    assert proc.returncode == 130
    assert "Traceback" not in errors and "KeyboardInterrupt" not in errors
    assert (tmp_path / ".touchpoint_history").read_text().splitlines() == ["/touchpoint list"]


def test_ctrl_c_ends_a_piped_console_quietly() -> None:
    """Each answer is written out as it is made, even into a pipe; Ctrl-C while waiting for
    the next line ends the console without a traceback."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCH", "PYTHONUNBUFFERED"))}
    with subprocess.Popen([sys.executable, "-m", "touchpoint.cli", "console"], cwd=ROOT,
                          env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(b"/touchpoint list\n")
        proc.stdin.flush()
        seen = bytearray()
        _read_until(proc.stdout.fileno(), seen, b"== Playbooks ==")
        proc.send_signal(signal.SIGINT)  # waiting for the next line
        errors = proc.stderr.read().decode()
    assert proc.returncode == 130 and "Traceback" not in errors


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


@pytest.mark.parametrize("pattern", ["a{10000000}", "(\\w|\\w)*$", "(a|aa)+$",
                                     "\\bquote (\\w+\\s?)+$"])
def test_check_fails_a_regex_that_is_too_costly_or_backtracks(tmp_path: Path,
                                                              pattern: str) -> None:
    """The bomb would take gigabytes to compile; the others make the matcher's cut-off
    fire on a message built for them, so the trigger would never match."""
    good = (ROOT / "playbooks" / "price-objection.yaml").read_text()
    line = next(n for n, text in enumerate(good.splitlines(), 1) if "regex:" in text)
    (tmp_path / "price.yaml").write_text(
        good.replace("regex: '", f"regex: '{pattern.replace(chr(39), chr(39) * 2)}|", 1))
    done = run("check", str(tmp_path), "--format", "github")
    assert done.returncode == 1, done.stdout
    assert f"price.yaml:{line}:" in done.stderr and "triggers[0]" in done.stderr, done.stderr
    assert "too costly" in done.stderr or "backtracks catastrophically" in done.stderr
    assert f"::error file={tmp_path / 'price.yaml'},line={line}" in done.stdout
