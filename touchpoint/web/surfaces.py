"""Slack's App Home tab and Teams' message-action dialog, drawn from the very JSON the
adapters send (`slack_home.home_view`, `teams_extension.task_response`), as `chat` draws
messages: what is cut, escaped and which buttons show is what the adapters really do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from adapters.slack import home as slack_home
from adapters.teams import extension as teams_extension
from bot.admin import Admins
from bot.home import build_home
from bot.messages import Reply
from touchpoint.web.chat import mrkdwn, teams_card
from touchpoint.web.context import context
from touchpoint.web.html import Html, Node, el

PREVIEW_USER = "manager"
"""Who the App Home preview is drawn for: shown as an admin, so every part appears."""


def slack_home_tab(view: Mapping[str, Any]) -> Html:
    """A published `home` view: headers, sections with their button, dividers."""
    blocks: list[Node] = []
    for block in view.get("blocks", ()):
        kind = block.get("type")
        if kind == "header":
            blocks.append(el("h3", str(block["text"]["text"]), class_="home-header"))
        elif kind == "divider":
            blocks.append(el("hr", class_="home-divider"))
        elif kind == "section":
            accessory = block.get("accessory")
            button = el("span", str(accessory["text"]["text"]), class_="button") \
                if isinstance(accessory, Mapping) else None
            blocks.append(el("div", el("div", mrkdwn(str(block["text"]["text"]))), button,
                             class_="block home-section"))
        elif kind == "actions":
            blocks.append(el("div", [el("span", str(b["text"]["text"]), class_="button")
                                     for b in block.get("elements", ())], class_="actions"))
    tabs = el("div", el("span", "Home", class_="tab on"), el("span", "Messages", class_="tab"),
              el("span", "About", class_="tab"), class_="home-tabs")
    head = el("div", el("div", "TP", class_="avatar"), el("b", "Touchpoint"), class_="who")
    return el("div", head, tabs, blocks, class_="chat slack home-tab", data_surface="app-home")


def teams_dialog(message: str, replies: Sequence[Reply]) -> Html:
    """The message the action was used on, then the dialog only its user sees."""
    private = next((r for r in replies if r.ephemeral), None)
    task = teams_extension.task_response(private)["task"]
    if task["type"] == "continue":
        value = task["value"]
        inner: Node = teams_card(value["card"]["content"])
        title = str(value.get("title", ""))
    else:
        inner, title = el("div", str(task["value"]), class_="plain"), teams_extension.TITLE
    quoted = el("div", el("div", "…", class_="menu"), el("div", message, class_="said"),
                el("div", "… › Find a playbook", class_="where"), class_="quoted")
    dialog = el("div", el("div", el("b", title), el("span", "✕", class_="close"),
                          class_="dialog-head"), inner, class_="dialog",
                data_surface="message-action")
    return el("div", quoted, dialog, class_="chat teams")


async def home_page(request: web.Request) -> web.Response:
    """`GET /manage/home`: the App Home tab as Slack would show it to an admin now."""
    from touchpoint.web.views import respond

    handler = context(request).handler
    shown_as = Admins(handler.settings.admins.ids | {f"slack:{PREVIEW_USER}"})
    home = await build_home(handler.store, tuple(handler.playbooks.playbooks), shown_as,
                            "slack", PREVIEW_USER, None, handler.clock())
    view = slack_home.home_view(home)
    body = [el("h1", "App Home"),
            el("p", "The Home tab Slack shows when someone opens Touchpoint, drawn from the "
               "view views.publish sends, as an admin sees it (people who are not admins "
               "see only their own channels and no counts).", class_="hint"),
            slack_home_tab(view)]
    return respond(request, "App Home", "home", body)

