"""The terminal rendering of replies: each thing said once, as Slack and Teams show it."""

from __future__ import annotations

import io
import json
from pathlib import Path

from adapters import console
from adapters.slack import blocks as slack_blocks
from adapters.teams import cards as teams_cards
from bot.events import ButtonPressed
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.replies import guidance_reply, nudge_reply, playbook_reply
from bot.runner_up import runner_up


def test_every_answer_says_the_summary_once_on_every_platform(library: PlaybookSet) -> None:
    playbook = library.by_id["price-objection"]
    best = library.matcher.match("the client says our quote is way too expensive").best
    for reply in (guidance_reply(playbook, best, ephemeral=True, in_thread=False),
                  guidance_reply(playbook, None, ephemeral=False, in_thread=False),
                  playbook_reply(playbook)):
        shown = {
            "console": console.render(reply),
            "slack": json.dumps(slack_blocks.render(reply)["blocks"]),
            "teams": json.dumps(teams_cards.card(reply)["body"]),
        }
        for platform, text in shown.items():
            assert text.count(playbook.summary) == 1, (platform, text)
            assert text.count(playbook.title) >= 1, platform


def test_a_nudge_is_one_line_in_the_console(library: PlaybookSet) -> None:
    playbook = library.by_id["unhappy-customer"]
    lines = console.render(nudge_reply(playbook)).splitlines()
    assert lines[0] == f"bot> {playbook.nudge}  (in thread)"
    assert lines[1].startswith("  buttons: [Show the whole playbook")


def test_lines_become_events() -> None:
    command = console.to_event("/touchpoint  show renewal ", 1)
    assert command is not None and (command.kind, command.text) == ("command", "show renewal")
    press = console.to_event("/press helpful renewal", 2)
    assert isinstance(press, ButtonPressed) and (press.kind, press.action, press.value) == (
        "action", "helpful", "renewal")
    said = console.to_event("lunch anyone?", 3)
    assert said is not None and said.kind == "channel" and said.id == "line-3"
    assert console.to_event("   ", 4) is None


def test_the_runner_up_is_a_button_the_console_can_press(library: PlaybookSet) -> None:
    evaluation = Path(__file__).resolve().parents[1] / "data" / "eval_touchpoints.jsonl"
    text, second = next(
        (t, found.playbook) for t in (json.loads(line)["text"]
                                      for line in evaluation.read_text().splitlines())
        if (found := runner_up(library.matcher.match(t, "guide"), library.by_id)))
    title = library.by_id[second].title
    said: list[str] = []
    lines = io.StringIO(f"/touchpoint {text}\n/press show {second}\n/press not_helpful {second}\n")
    assert console.run(Handler(library, MemoryStore()), lines, said.append, interactive=False)
    shown = "".join(said)
    assert f"[Or: {title}: {console.PRESS} show {second}]" in shown
    assert shown.count("== Daily prompts ==") == 1
    assert "in Slack and Teams a form asks this: " in shown and "none)" in shown
