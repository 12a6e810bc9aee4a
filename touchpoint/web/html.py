"""HTML built from escaped pieces: a value is text unless it is already `Html`.

Every string on these pages comes from a playbook file, the store or someone
typing into a form. Pages are assembled only through `el`, which escapes
whatever is not `Html` yet, so forgetting to escape one value is not possible
rather than merely unlikely; there is no template language to get wrong.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

PREFIX = "/manage"
"""Where the pages live on `touchpoint serve` and `touchpoint preview`."""

VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})
"""HTML elements that have no closing tag."""
SHAPES = frozenset({"circle", "line", "rect", "polyline", "path"})
"""SVG elements that close themselves when empty."""

TABS = (("try", "Try it", f"{PREFIX}/"), ("playbooks", "Playbooks", f"{PREFIX}/playbooks"),
        ("analytics", "Analytics", f"{PREFIX}/analytics"),
        ("schedule", "Schedule", f"{PREFIX}/schedule"), ("home", "App Home", f"{PREFIX}/home"))


class Html(str):
    """Markup that is already safe to put in a page: `el` and `esc` make it, nothing else."""

    __slots__ = ()


Node = str | int | float | None | Sequence["Node"]
"""What an element may contain: text (escaped), `Html` (kept), numbers, nothing, or lists."""

Attr = str | int | float | bool | None


def esc(value: object) -> Html:
    """`value` as text in a page or an attribute; `Html` passes unchanged."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def render(node: Node) -> Html:
    """A tree of nodes as one piece of markup."""
    if node is None:
        return Html("")
    if isinstance(node, str | int | float):
        return esc(node)
    return Html("".join(render(child) for child in node))


def _name(key: str) -> str:
    """`class_` -> `class`, `data_values` -> `data-values`; `viewBox` stays as SVG spells it."""
    return key.rstrip("_").replace("_", "-")


def el(tag: str, *children: Node, **attrs: Attr) -> Html:
    """One element. `True` writes a bare attribute; `None` and `False` leave it out."""
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        parts.append(_name(key) if value is True else f'{_name(key)}="{esc(value)}"')
    opening = " ".join(parts)
    if tag in VOID:
        return Html(f"<{opening}>")
    if tag in SHAPES and not children:
        return Html(f"<{opening} />")
    return Html(f"<{opening}>{render(list(children))}</{tag}>")


def lines(text: str) -> Html:
    """Plain text whose line breaks should show."""
    return Html(el("br").join(esc(line) for line in text.split("\n")))


def page(title: str, active: str, body: Node, *, csrf: str = "", signed_in: bool = False,
         notice: str = "") -> Html:
    """The frame every view shares: the tabs, the view, and a sign-out button if signed in."""
    tabs = [el("a", label, href=href, class_="tab active" if key == active else "tab",
               aria_current="page" if key == active else None)
            for key, label, href in TABS]
    sign_out: Node = None
    if signed_in:
        sign_out = el("form", el("input", type="hidden", name="csrf", value=csrf),
                      el("button", "Sign out", type="submit", class_="link"),
                      method="post", action=f"{PREFIX}/logout", class_="signout")
    header = el("header", el("a", el("span", "TP", class_="logo"), "Touchpoint",
                             href=f"{PREFIX}/", class_="brand"),
                el("nav", tabs, aria_label="Views"), sign_out)
    shown = el("p", notice, class_="notice") if notice else None
    return document(f"{title} · Touchpoint", [header, el("main", shown, body, id=active)])


def document(title: str, body: Node) -> Html:
    head = el("head", el("meta", charset="utf-8"),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("title", title),
              el("link", rel="stylesheet", href=f"{PREFIX}/static/style.css"),
              el("link", rel="icon", href="data:,"))
    return Html("<!doctype html>\n" + el("html", head, el("body", body), lang="en"))
