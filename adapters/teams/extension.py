"""Teams' message action, "Find a playbook for this message", as the core sees it: pure.

The action is a message extension command with `context: ["message"]` and
`fetchTask: true` (teams/manifest.json). Choosing it from a message's "..." menu sends
a `composeExtension/fetchTask` invoke carrying that message; the answer is a dialog
(task module) with the reply's Adaptive Card, which only the person who asked sees.
Buttons in a dialog can only be Action.Submit, whose press comes back as a
`composeExtension/submitAction` invoke with the button's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.teams import activity as teams_activity
from adapters.teams import cards as teams_cards
from bot.events import ButtonPressed, Event, ShortcutAsked
from bot.messages import Reply

JSON = dict[str, Any]

COMMAND_ID = "findPlaybook"
FETCH = "composeExtension/fetchTask"
SUBMIT = "composeExtension/submitAction"
TITLE = "Touchpoint"


def is_extension(raw: Mapping[str, Any]) -> bool:
    return raw.get("type") == "invoke" and raw.get("name") in (FETCH, SUBMIT)


def to_event(raw: Mapping[str, Any]) -> Event | None:
    """The question (the message's own words) or a pressed dialog button; None if neither."""
    value = _obj(raw.get("value"))
    data = _obj(value.get("data"))
    if raw.get("name") == SUBMIT and data:
        action, playbook = data.get(teams_cards.ACTION_KEY), data.get(teams_cards.PLAYBOOK_KEY)
        if not isinstance(action, str) or not isinstance(playbook, str) or not action:
            return None
        if max(len(action), len(playbook)) > teams_activity.MAX_ACTION_CHARS:
            return None
        return ButtonPressed(action=action, value=playbook, **teams_activity.origin(raw))
    if value.get("commandId") != COMMAND_ID or value.get("commandContext") != "message":
        return None
    body = _obj(_obj(value.get("messagePayload")).get("body"))
    content = body.get("content")
    text = content if isinstance(content, str) else ""
    if body.get("contentType") == "html":
        text = teams_activity.typed_text({"text": text})
    return ShortcutAsked(text=" ".join(text.split()), **teams_activity.origin(raw))


def task_response(reply: Reply | None) -> JSON:
    """The invoke response: the reply's card in a dialog, or one line for a short answer."""
    if reply is None:
        return {"task": {"type": "message", "value": "Done."}}
    if teams_cards.is_notice(reply):
        return {"task": {"type": "message", "value": reply.text}}
    content = teams_cards.card(reply)
    if "actions" in content:
        content["actions"] = [_submit_only(a) for a in content["actions"]]
    return {"task": {"type": "continue", "value": {
        "title": TITLE, "width": "medium", "height": "large",
        "card": {"contentType": teams_cards.CARD_CONTENT_TYPE, "content": content}}}}


def refusal() -> JSON:
    return {"task": {"type": "message",
                     "value": "Touchpoint can only look for a playbook for a message."}}


def _submit_only(action: JSON) -> JSON:
    """Dialogs run Action.Submit, not Action.Execute: the fallback becomes the button."""
    fallback = action.get("fallback")
    return dict(fallback) if isinstance(fallback, dict) else action


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
