"""A terminal chat with the bot, through the same handler Slack and Teams use.

Lines starting with `/touchpoint` are slash commands, `/press ACTION ID`
presses a button, and any other line is a message in a channel.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.handler import Handler
from bot.messages import Kind, Message, Reply

PROMPT = "you> "
COMMAND = "/touchpoint"
PRESS = "/press"


def to_message(line: str, number: int) -> Message | None:
    """A typed line as the core's `Message`; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    first = text.split(" ", 1)[0].lower()
    if first == COMMAND:
        return _message(text[len(COMMAND):].strip(), "command")
    if first == PRESS:
        _, action, value = (text.split(maxsplit=2) + ["", ""])[:3]
        return _message(action, "action", id=f"press-{number}", value=value)
    return _message(text, "channel", id=f"line-{number}")


def _message(text: str, kind: Kind, id: str = "", value: str = "") -> Message:
    return Message(text=text, user="console-user", channel="console", platform="console",
                   kind=kind, id=id, value=value)


def render(reply: Reply) -> str:
    """A reply as terminal text: headings, bullets and the buttons one could press."""
    tags = [t for t, on in (("only you see this", reply.ephemeral),
                            ("in thread", reply.in_thread)) if on]
    lines = [f"bot> {reply.text}" + (f"  ({', '.join(tags)})" if tags else "")]
    for section in reply.sections:
        if section.title:
            lines.append(f"  == {section.title} ==")
        if section.text and section.text != reply.text:
            lines.append(f"  {section.text}")
        lines.extend(f"   - {bullet}" for bullet in section.bullets)
    if reply.buttons:
        lines.append("  buttons: " + "  ".join(
            f"[{b.label}: {PRESS} {b.action} {b.value}]" for b in reply.buttons))
    return "\n".join(lines)


async def run(
    handler: Handler,
    stdin: TextIO = sys.stdin,
    write: Callable[[str], object] = sys.stdout.write,
    interactive: bool = True,
) -> None:
    """Read lines until end of input, printing each reply."""
    if interactive:
        write("Touchpoint console. Try '/touchpoint help', '/touchpoint the client says we are "
              "too expensive', or a channel message. Ctrl-D quits.\n")
    number = 0
    while True:
        if interactive:
            write(PROMPT)
            sys.stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        number += 1
        message = to_message(line, number)
        if message is None:
            continue
        answers = await handler.handle(message)
        if not answers and message.kind == "channel":
            write("bot> (stays quiet: no clear customer moment, or a nudge cooled down)\n")
        for reply in answers:
            write(render(reply) + "\n")
