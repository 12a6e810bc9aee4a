"""A core `Reply` as Slack Block Kit, and where in Slack it goes: pure, no I/O.

Reply text is plain text that may quote a user, so every string is escaped
for mrkdwn and marked `verbatim`: the bot can never be made to post
`<!channel>`, `<!here>`, a mention or a link someone typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack.payloads import Incoming, action_id
from bot.messages import Reply, Section

MAX_SECTION = 3000
MAX_BUTTON_LABEL = 75
MAX_VALUE = 2000
MAX_BLOCKS = 50
MAX_FALLBACK = 3000
BULLET = "\u2022 "

Block = dict[str, Any]


def escape(text: str) -> str:
    """The three characters Slack's mrkdwn treats as markup, as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(reply: Reply) -> dict[str, Any]:
    """`text` (notifications, screen readers) and `blocks` for chat.post*."""
    blocks: list[Block] = []
    if reply.text and not reply.text_repeats_first_section:
        blocks.append(_section(escape(reply.text)))
    for section in reply.sections:
        blocks.extend(_section_blocks(section))
    if reply.buttons:
        blocks = blocks[: MAX_BLOCKS - 1]
        blocks.append({
            "type": "actions",
            "block_id": "touchpoint-buttons",
            "elements": [_button(b.label, b.action, b.value, b.primary, i)
                         for i, b in enumerate(reply.buttons[:25])],
        })
    fallback = reply.text or next((s.title or s.text for s in reply.sections), "")
    return {"text": _cut(escape(fallback), MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}


@dataclass(frozen=True)
class Post:
    """One Web API call, and what to send to `response_url` if Slack refuses it."""

    method: str
    args: dict[str, Any]
    fallback: dict[str, Any] | None = None
    response_url: str = ""


def plan(reply: Reply, incoming: Incoming) -> Post:
    """Ephemeral replies become chat.postEphemeral, except in a DM with the bot.

    A reply goes into the thread when the core asks for it or when the person
    was already talking in one.
    """
    msg = incoming.message
    body = render(reply)
    channel = reply.channel or msg.channel
    thread = msg.thread if (reply.in_thread or incoming.threaded) and msg.thread else ""
    fallback: dict[str, Any] | None = None
    if incoming.response_url and not reply.channel:
        fallback = {
            "response_type": "ephemeral" if reply.ephemeral else "in_channel",
            "replace_original": False,
            **body,
        }
    if reply.ephemeral and not incoming.direct:
        args: dict[str, Any] = {"channel": channel, "user": reply.user or msg.user, **body}
        method = "chat.postEphemeral"
    else:
        if reply.user and not reply.channel and not reply.ephemeral:
            channel, thread = reply.user, ""
        args = {"channel": channel, **body}
        method = "chat.postMessage"
    if thread:
        args["thread_ts"] = thread
    return Post(method, args, fallback, incoming.response_url if fallback else "")


def _section_blocks(section: Section) -> list[Block]:
    lines = []
    if section.title:
        lines.append(f"*{escape(section.title)}*")
    if section.text:
        lines.append(escape(section.text))
    lines.extend(BULLET + escape(bullet) for bullet in section.bullets)
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = _cut(line, MAX_SECTION)
        if chunk and size + len(line) + 1 > MAX_SECTION:
            blocks.append(_section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    return blocks


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _button(label: str, action: str, value: str, primary: bool, index: int) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id(action, index),
        "text": {"type": "plain_text", "text": _cut(label, MAX_BUTTON_LABEL), "emoji": True},
        "value": value[:MAX_VALUE],
    }
    if primary:
        button["style"] = "primary"
    return button


def _cut(text: str, limit: int) -> str:
    """Shorten without splitting an entity like `&amp;` in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "\u2026"
