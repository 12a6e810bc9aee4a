"""The core's replies as Bot Framework wire JSON: message activities and Adaptive Cards.

Everything here works on the JSON Teams receives, not on the SDK's classes, so it
stays true when the SDK underneath is replaced. No I/O, so tests call it directly.
Incoming activities are read in `adapters.teams.activity`.
"""

from __future__ import annotations

from typing import Any

from adapters.teams import feedback as teams_feedback
from bot.messages import Button, Reply

JSON = dict[str, Any]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
"""Action.Execute needs 1.4; every current Teams client renders it."""
INVOKE_MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ACTION_KEY = "touchpoint"
"""The key our buttons put in their data, so a card from another app is told apart."""
PLAYBOOK_KEY = "playbook"




def is_notice(reply: Reply) -> bool:
    """A one-line answer: sent as text, since a card around one sentence is noise."""
    return not reply.sections and not reply.buttons and reply.form is None


def render(reply: Reply) -> JSON:
    """A reply as the body of an outgoing message activity (wire JSON)."""
    if is_notice(reply):
        return {"type": "message", "text": reply.text, "textFormat": "plain"}
    return {
        "type": "message",
        "summary": reply.text,
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card(reply)}],
    }


def card(reply: Reply) -> JSON:
    """The Adaptive Card for a reply.

    Text goes in RichTextBlock runs, which Teams shows literally: playbook text is
    plain, and a `*` or `[x](y)` in it must not turn into formatting or a link.
    """
    body: list[JSON] = []
    if reply.text and not reply.text_repeats_first_section:
        body.append(_rich(reply.text))
    for index, section in enumerate(reply.sections):
        if section.title:
            body.append(_rich(section.title, weight="Bolder",
                              size="Medium" if index == 0 else "Default",
                              spacing="Medium" if body else "Default"))
        if section.text:
            body.append(_rich(section.text, spacing="Small" if section.title else "Default"))
        for bullet in section.bullets:
            body.append(_rich(f"• {bullet}", spacing="Small"))
    content: JSON = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": reply.text,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if reply.user and not reply.ephemeral:
        _mention(content, reply.user)
    if reply.buttons:
        content["actions"] = [_button(b) for b in reply.buttons]
    if reply.form is not None:
        body.extend(teams_feedback.form_body(reply.form))
        content["actions"] = [*content.get("actions", ()), teams_feedback.form_action(
            reply.form, ACTION_KEY, PLAYBOOK_KEY)]
    return content


def _mention(content: JSON, user: str) -> None:
    """Open the card with an @mention of `user` (an Azure AD object id or UPN), who is
    notified. Only a TextBlock renders `<at>` tags, so the name goes there, stripped of `<>`."""
    name = user.replace("<", "").replace(">", "")
    tag = f"<at>{name}</at>"
    content["body"].insert(0, {"type": "TextBlock", "text": tag, "wrap": True})
    content["msteams"]["entities"] = [
        {"type": "mention", "text": tag, "mentioned": {"id": user, "name": name}}]


def execute_response(text: str) -> JSON:
    """The invoke response body for an Action.Execute: Teams shows `text` under the card."""
    return {"statusCode": 200, "type": INVOKE_MESSAGE_TYPE, "value": text}


def button_data(button: Button) -> JSON:
    return {ACTION_KEY: button.action, PLAYBOOK_KEY: button.value}


def _button(button: Button) -> JSON:
    """Action.Execute, falling back to Action.Submit on clients without Universal Actions."""
    data = button_data(button)
    action: JSON = {"type": "Action.Execute", "title": button.label, "verb": button.action,
                    "data": data}
    submit: JSON = {"type": "Action.Submit", "title": button.label, "data": data}
    if button.primary:
        action["style"] = submit["style"] = "positive"
    action["fallback"] = submit
    return action


def _rich(text: str, **props: str) -> JSON:
    run: JSON = {"type": "TextRun", "text": text}
    for key in ("weight", "size"):
        if key in props:
            run[key] = props[key]
    block: JSON = {"type": "RichTextBlock", "inlines": [run]}
    if "spacing" in props:
        block["spacing"] = props["spacing"]
    return block


