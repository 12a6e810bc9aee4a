"""A `Reply` drawn the way Slack and Teams show it, from the very JSON the adapters send.

Rendering the adapters' output (Block Kit, the Adaptive Card) instead of the
`Reply` itself means the preview shows what those adapters really do to the
text: what is cut, what is escaped, which summary line is dropped, which
button is primary. Only the few constructs the adapters emit are drawn.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from adapters.slack import blocks as slack_blocks
from adapters.slack import payloads as slack_payloads
from adapters.teams import cards as teams_cards
from bot.messages import Reply
from touchpoint.web.html import PREFIX, Html, Node, el, esc

Press = Callable[[str, str], str | None]
"""Where pressing a button (action, value) leads on the page; None: it is only drawn."""
PRESSABLE = frozenset({"show"})
"""Buttons the preview can press: they only show a playbook, so trying them is harmless."""


def _nowhere(action: str, value: str) -> str | None:
    return None


def _drawn_button(label: str, primary: bool, href: str | None) -> Html:
    style = "button primary" if primary else "button"
    return el("a", label, href=href, class_=style) if href else el("span", label, class_=style)

_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_CODE = re.compile(r"`([^`\n]+)`")
_AT = re.compile(r"<at>(.*?)</at>")


def mrkdwn(text: str) -> Html:
    """Slack mrkdwn as HTML: Slack's own entities undone, everything escaped, then the
    bold/italic/strike/code that Slack would draw (the markers are escape-proof)."""
    safe = html.escape(html.unescape(text), quote=True)
    safe = _CODE.sub(r"<code>\1</code>", safe)
    safe = _BOLD.sub(r"<b>\1</b>", safe)
    safe = _ITALIC.sub(r"<i>\1</i>", safe)
    safe = _STRIKE.sub(r"<s>\1</s>", safe)
    return Html(safe.replace("\n", "<br>"))


def _where(reply: Reply, platform: str) -> Node:
    notes = []
    if reply.ephemeral and platform == "slack":
        notes.append("Only visible to you")
    elif reply.ephemeral:
        notes.append("Teams has no private replies: posted where it was asked")
    if reply.in_thread:
        notes.append("in the thread")
    if reply.user and not reply.ephemeral:
        notes.append("mentions its owner")
    return el("div", " · ".join(notes), class_="where") if notes else None


def slack_message(reply: Reply, press: Press = _nowhere) -> Html:
    """One bot message as Slack draws it: name, APP badge, the blocks, the buttons."""
    body = slack_blocks.render(reply)
    blocks: list[Node] = []
    for block in body.get("blocks", ()):
        if block.get("type") == "section":
            blocks.append(el("div", mrkdwn(str(block["text"]["text"])), class_="block"))
        elif block.get("type") == "actions":
            buttons = [_drawn_button(str(b["text"]["text"]), b.get("style") == "primary",
                                     press(slack_payloads.action_name(str(b["action_id"]))
                                           or "", str(b.get("value", ""))))
                       for b in block.get("elements", ())]
            blocks.append(el("div", buttons, class_="actions"))
    if not blocks:
        blocks.append(el("div", mrkdwn(str(body.get("text", ""))), class_="block"))
    head = el("div", el("b", "Touchpoint"), el("span", "APP", class_="badge"), class_="who")
    return el("div", el("div", "TP", class_="avatar"),
              el("div", head, _where(reply, "slack"), blocks, class_="content"),
              class_="slack-message", data_platform="slack")


def _inline(item: Mapping[str, Any]) -> Html:
    text = str(item.get("text", ""))
    if item.get("type") == "TextBlock":
        parts = _AT.split(text)
        return Html("".join(el("span", part, class_="mention") if index % 2 else esc(part)
                            for index, part in enumerate(parts)))
    runs = []
    for run in item.get("inlines", ()):
        shown = esc(str(run.get("text", "")))
        runs.append(el("strong", shown) if run.get("weight") == "Bolder" else shown)
    return Html("".join(runs))


def teams_message(reply: Reply, press: Press = _nowhere) -> Html:
    """One bot message as Teams draws it: a plain line, or an Adaptive Card with actions."""
    activity = teams_cards.render(reply)
    attachments: Sequence[Mapping[str, Any]] = activity.get("attachments", ())
    if not attachments:
        inner: Node = el("div", str(activity.get("text", "")), class_="plain")
    else:
        inner = teams_card(attachments[0]["content"], press)
    head = el("div", el("b", "Touchpoint"), el("span", "Bot", class_="badge"), class_="who")
    return el("div", el("div", "TP", class_="avatar"),
              el("div", head, _where(reply, "teams"), inner, class_="content"),
              class_="teams-message", data_platform="teams")


def teams_card(card: Mapping[str, Any], press: Press = _nowhere) -> Html:
    """An Adaptive Card's body and actions, as the adapter built it."""
    rows = []
    for item in card.get("body", ()):
        size = next((r.get("size") for r in item.get("inlines", ()) if r.get("size")), "")
        rows.append(el("div", _inline(item), class_=f"row {str(size).lower()}".strip(),
                       data_spacing=str(item.get("spacing", "")) or None))
    actions = [_drawn_button(str(a.get("title", "")), a.get("style") == "positive",
                             press(str(a.get("data", {}).get(teams_cards.ACTION_KEY, "")),
                                   str(a.get("data", {}).get(teams_cards.PLAYBOOK_KEY, ""))))
               for a in card.get("actions", ())]
    return el("div", rows, el("div", actions, class_="actions") if actions else None,
              class_="card")


def conversation(platform: str, text: str, kind: str, replies: Sequence[Reply]) -> Html:
    """What the person typed, then every message the bot would send; a "show" button
    (the whole playbook, the runner-up) opens Try it again with that button pressed."""
    def press(action: str, value: str) -> str | None:
        if action not in PRESSABLE or not value:
            return None
        return f"{PREFIX}/?" + urlencode({"text": text, "where": kind, "press": action,
                                          "value": value})

    if kind == "shortcut" and platform == "teams":
        from touchpoint.web.surfaces import teams_dialog

        return teams_dialog(text, replies)
    if platform == "slack":
        said = f"/touchpoint {text}" if kind == "command" else text
        if kind == "shortcut":
            said = f"{text}  ⋮ › Find a playbook for this message"
        drawn = [slack_message(r, press) for r in replies]
    else:
        said = f"@Touchpoint {text}" if kind == "command" else text
        drawn = [teams_message(r, press) for r in replies]
    person = el("div", el("div", "You", class_="avatar person"),
                el("div", el("div", el("b", "You"), class_="who"),
                   el("div", said, class_="said"), class_="content"),
                class_=f"{platform}-message person")
    quiet = None if replies else el("p", "The bot stays quiet.", class_="quiet")
    return el("div", person, drawn, quiet, class_=f"chat {platform}")
