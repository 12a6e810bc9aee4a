"""Reading playbook files and schedule.yaml from disk: the same limits, the same messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.playbooks import MAX_FILE_BYTES, PlaybookErrors
from touchpoint.loader import LiveRouting, load_folder, load_schedule, read_documents

ROOT = Path(__file__).resolve().parents[2]
UNREADABLE = [
    (b"prompts: []\n# caf\xe9\n", "not UTF-8 text"),
    (b"# " + b"x" * MAX_FILE_BYTES + b"\n", f"file is larger than {MAX_FILE_BYTES} bytes"),
    (b"# " + b"x" * MAX_FILE_BYTES + b"\xe9\n", f"file is larger than {MAX_FILE_BYTES} bytes"),
]
"""The last one is only seen as too big when its size is checked before it is read."""


@pytest.mark.parametrize("content, reason", UNREADABLE)
def test_an_unreadable_playbook_file_is_named_with_why(tmp_path: Path, content: bytes,
                                                       reason: str) -> None:
    for source in (ROOT / "playbooks").glob("*.yaml"):
        if source.name != "schedule.yaml":
            shutil.copy(source, tmp_path / source.name)
    (tmp_path / "zz-bad.yaml").write_bytes(content)
    documents, errors = read_documents(tmp_path)
    assert [str(e) for e in errors] == [f"{tmp_path / 'zz-bad.yaml'}:1:1: {reason}"]
    assert documents and all(source != str(tmp_path / "zz-bad.yaml") for source, _ in documents)
    with pytest.raises(PlaybookErrors) as info:
        load_folder(tmp_path)
    assert [str(e) for e in info.value.errors] == [str(errors[0])]


@pytest.mark.parametrize("content, reason", UNREADABLE)
def test_an_unreadable_schedule_is_named_with_why(tmp_path: Path, content: bytes,
                                                  reason: str) -> None:
    (tmp_path / "schedule.yaml").write_bytes(content)
    with pytest.raises(PlaybookErrors) as info:
        load_schedule(tmp_path, ["renewal"])
    assert [str(e) for e in info.value.errors] == [f"{tmp_path / 'schedule.yaml'}:1:1: {reason}"]


def test_no_schedule_is_no_prompts(tmp_path: Path) -> None:
    assert load_schedule(tmp_path, ["renewal"]) == []


@pytest.mark.parametrize("content, reason", UNREADABLE)
def test_an_unreadable_background_file_is_named_with_why(tmp_path: Path, content: bytes,
                                                         reason: str) -> None:
    """background.yaml was read whole before its size was looked at: 400 MB took an
    instance to 1.3 GB. It goes through the playbooks' reader now."""
    shutil.copy(ROOT / "playbooks" / "renewal.yaml", tmp_path / "renewal.yaml")
    (tmp_path / "background.yaml").write_bytes(content)
    with pytest.raises(PlaybookErrors) as info:
        load_folder(tmp_path)
    assert [str(e) for e in info.value.errors] == [
        f"{tmp_path / 'background.yaml'}:1:1: {reason}"]


def test_routing_yaml_is_read_again_when_changed_and_a_bad_edit_keeps_the_last_good(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    routing = LiveRouting(lambda: tmp_path)
    assert routing.current().routes == ()
    path = tmp_path / "routing.yaml"
    path.write_text("routes:\n  - email_domain: example.com\n    channel: slack:C1\n")
    assert [r.channel for r in routing.current().routes] == ["slack:C1"]
    path.write_text("routes:\n  - email_domain: example.com\n    channel: nowhere at all\n")
    assert [r.channel for r in routing.current().routes] == ["slack:C1"]
    assert "routing.yaml rejected; keeping the routing in use" in caplog.text
    assert f"{path}:3:" in caplog.text
