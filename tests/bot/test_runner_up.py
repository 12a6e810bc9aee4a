"""When a guide answer offers a second playbook: the rule, and the button it becomes."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import pressed, said

from bot.handler import Handler
from bot.language import foreign_language
from bot.matcher import Candidate, MatchResult
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.runner_up import FLOOR, SHARE, runner_up

LIVE = {"a", "b", "c"}
EVAL = Path(__file__).resolve().parents[1] / "data" / "eval_touchpoints.jsonl"


def result(*scores: tuple[str, float], decided: bool = True) -> MatchResult:
    ranked = tuple(Candidate(pid, score, ()) for pid, score in scores)
    return MatchResult("guide", ranked[0] if decided and ranked else None, ranked)


def test_a_close_second_is_offered() -> None:
    assert runner_up(result(("a", 0.5), ("b", 0.2)), LIVE) == Candidate("b", 0.2, ())


def test_a_faint_or_distant_second_is_not() -> None:
    assert runner_up(result(("a", 0.9), ("b", 0.9 * SHARE - 0.01)), LIVE) is None
    assert runner_up(result(("a", 0.2), ("b", FLOOR - 0.01)), LIVE) is None
    assert runner_up(result(("a", 0.5)), LIVE) is None


def test_no_answer_no_runner_up_and_only_live_playbooks() -> None:
    assert runner_up(result(("a", 0.3), ("b", 0.3), decided=False), LIVE) is None
    assert runner_up(result(("a", 0.5), ("gone", 0.4), ("c", 0.3)), LIVE) == Candidate(
        "c", 0.3, ())
    assert runner_up(result(("a", 0.9), ("gone", 0.4), ("c", 0.04)), LIVE) is None


async def test_the_guide_answer_carries_the_runner_up_as_a_show_button(
        library: PlaybookSet) -> None:
    """Over the own evaluation set: a button exactly when the rule says so, and it shows."""
    handler = Handler(library, MemoryStore())
    offered = quiet = 0
    for line in EVAL.read_text().splitlines():
        text = json.loads(line)["text"]
        found = library.matcher.match(text, "guide")
        if found.best is None or foreign_language(text) is not None:
            continue
        second = runner_up(found, library.by_id)
        (reply,) = await handler.handle(said(text))
        extra = [b for b in reply.buttons if b.label.startswith("Or: ")]
        if second is None:
            quiet += 1
            assert extra == []
            continue
        offered += 1
        assert [(b.label, b.action, b.value) for b in extra] == [
            (f"Or: {library.by_id[second.playbook].title}", "show", second.playbook)]
        (shown,) = await handler.handle(pressed("show", second.playbook))
        assert shown.sections[0].title == library.by_id[second.playbook].title
    assert offered and quiet > offered
