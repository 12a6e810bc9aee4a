"""A terminal chat with the bot, through the same handler Slack and Teams use.

Lines starting with `/touchpoint` are slash commands, `/press ACTION ID`
presses a button, and any other line is a message in a channel.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.events import ButtonPressed, Event, Said, Via
from bot.handler import Handler
from bot.messages import Reply

PROMPT = "you> "
COMMAND = "/touchpoint"
PRESS = "/press"
HISTORY_LINES = 1000
USER = "console-user"
CHANNEL = "console"


def to_event(line: str, number: int) -> Event | None:
    """A typed line as the core's event; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    first = text.split(" ", 1)[0].lower()
    if first == COMMAND:
        return _said(text[len(COMMAND):].strip(), "command")
    if first == PRESS:
        _, action, value = (text.split(maxsplit=2) + ["", ""])[:3]
        return ButtonPressed(action=action, value=value, user=USER, channel=CHANNEL,
                             platform="console", id=f"press-{number}")
    return _said(text, "channel", id=f"line-{number}")


def _said(text: str, via: Via, id: str = "") -> Said:
    return Said(text=text, via=via, user=USER, channel=CHANNEL, platform="console", id=id)


def render(reply: Reply) -> str:
    """A reply as terminal text: headings, bullets and the buttons one could press.

    The first line is the reply's own text; a first section that only repeats it (a
    playbook's title and summary) is not drawn again, as Slack and Teams leave it out too.
    """
    tags = [t for t, on in (("only you see this", reply.ephemeral),
                            ("in thread", reply.in_thread)) if on]
    lines = [f"bot> {reply.text}" + (f"  ({', '.join(tags)})" if tags else "")]
    sections = reply.sections
    if reply.text_repeats_first_section and not sections[0].bullets:
        sections = sections[1:]
    for section in sections:
        if section.title:
            lines.append(f"  == {section.title} ==")
        if section.text and section.text != reply.text:
            lines.append(f"  {section.text}")
        lines.extend(f"   - {bullet}" for bullet in section.bullets)
    if reply.form is not None:  # the console has no forms: say what Slack and Teams ask
        lines.append(f"  (in Slack and Teams a form asks this: "
                     f"{', '.join(value for value, _ in reply.form.choices)})")
    if reply.buttons:
        lines.append("  buttons: " + "  ".join(
            f"[{b.label}: {PRESS} {b.action} {b.value}]" for b in reply.buttons))
    return "\n".join(lines)


def line_editing(history: Path | None) -> None:
    """Arrow keys, editing and history for `input()` (GNU readline or libedit, where
    Python has it), kept in `history` between sessions when that file can be written."""
    try:
        import readline
    except ImportError:  # e.g. Windows: plain input still works
        return
    readline.set_history_length(HISTORY_LINES)
    if history is None:
        return
    try:
        readline.read_history_file(history)
    except (OSError, ValueError):  # none yet, or unreadable: start afresh
        pass

    def save() -> None:
        try:
            readline.write_history_file(history)
        except OSError:
            pass

    atexit.register(save)


def run(
    handler: Handler,
    stdin: TextIO = sys.stdin,
    write: Callable[[str], object] = sys.stdout.write,
    interactive: bool = True,
    banner: str = "",
    flush: Callable[[], object] = sys.stdout.flush,
) -> bool:
    """Read lines until end of input, printing each reply; False when Ctrl-C ended it.

    Interactive sessions read with `input()`, so readline's editing and history apply.
    Ctrl-C, at the prompt or while the bot answers, ends the session without a traceback.
    """
    if interactive:
        write(f"{banner}Touchpoint console. Try '/touchpoint help', '/touchpoint the client "
              "says we are too expensive', or a channel message. Ctrl-D quits.\n")
    number = 0
    with asyncio.Runner() as runner:
        try:
            while (line := _read(stdin, interactive)) is not None:
                number += 1
                message = to_event(line, number)
                if message is None:
                    continue
                answers = runner.run(handler.handle(message))
                if not answers and message.kind == "channel":
                    write("bot> (stays quiet: no clear customer moment, or a nudge cooled "
                          "down)\n")
                for reply in answers:
                    write(render(reply) + "\n")
                flush()
        except KeyboardInterrupt:
            write("\n")
            return False
    return True


def _read(stdin: TextIO, interactive: bool) -> str | None:
    """The next line, or None at end of input."""
    if not interactive:
        return stdin.readline() or None
    try:
        return input(PROMPT)
    except EOFError:
        sys.stdout.write("\n")
        return None
