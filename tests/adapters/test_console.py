"""The terminal rendering of replies: each thing said once, as Slack and Teams show it."""

from __future__ import annotations

import json

from adapters import console, slack_blocks, teams_cards
from bot.library import PlaybookSet
from bot.replies import guidance_reply, nudge_reply, playbook_reply


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


def test_lines_become_messages() -> None:
    command = console.to_message("/touchpoint  show renewal ", 1)
    assert command is not None and (command.kind, command.text) == ("command", "show renewal")
    press = console.to_message("/press helpful renewal", 2)
    assert press is not None and (press.kind, press.text, press.value) == (
        "action", "helpful", "renewal")
    said = console.to_message("lunch anyone?", 3)
    assert said is not None and said.kind == "channel" and said.id == "line-3"
    assert console.to_message("   ", 4) is None
