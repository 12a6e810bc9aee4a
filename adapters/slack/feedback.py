"""The "Not helpful" form on Slack: a modal opened with `views.open`, read back from
`view_submission`.

The modal is opened with the press's `trigger_id`, which Slack honours for three
seconds only; when it has run out (or Slack refuses the modal) the person is still
thanked, as before the form existed. Where to say thanks afterwards (channel and
thread) rides in the view's `private_metadata`, with the form's own context, so
nothing is held between opening and submitting.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import Post, plan
from adapters.slack.payloads import Incoming, field_map, field_str
from adapters.slack.web import NETWORK_ERRORS, api_error
from bot import feedback
from bot.events import ButtonPressed
from bot.messages import Form, Reply

log = logging.getLogger("touchpoint.slack")

CALLBACK_ID = "touchpoint:feedback"
CHOICE_BLOCK, CHOICE_ACTION = "choice", "playbook"
WHY_BLOCK, WHY_ACTION = "why", "why"
MAX_TITLE = 24
"""Slack's limit on a modal's title and its buttons."""
MAX_OPTION = 75
MAX_OPTIONS = 100
MAX_METADATA = 3000
_CHANNEL = re.compile(r"^[CDG][A-Z0-9]{2,30}$")
_THREAD = re.compile(r"^\d{1,12}\.\d{1,9}$")


def modal(form: Form, channel: str, thread: str = "") -> dict[str, Any]:
    """The view for `views.open`: one required select, one optional line of text."""
    options = [{"text": {"type": "plain_text", "text": _cut(label, MAX_OPTION)},
                "value": value} for value, label in form.choices[:MAX_OPTIONS]]
    metadata = json.dumps({"context": form.context, "channel": channel, "thread": thread},
                          ensure_ascii=False, separators=(",", ":"))
    blocks: list[dict[str, Any]] = [{
        "type": "input",
        "block_id": CHOICE_BLOCK,
        "label": {"type": "plain_text", "text": form.prompt},
        "element": {"type": "static_select", "action_id": CHOICE_ACTION,
                    "placeholder": {"type": "plain_text", "text": "Choose a playbook"},
                    "options": options},
    }]
    if form.why_label:
        blocks.append({
            "type": "input",
            "block_id": WHY_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": form.why_label},
            "element": {"type": "plain_text_input", "action_id": WHY_ACTION,
                        "multiline": True, "max_length": feedback.MAX_WHY},
        })
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": _cut(form.title, MAX_TITLE)},
        "submit": {"type": "plain_text", "text": _cut(form.submit, MAX_TITLE)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata if len(metadata) <= MAX_METADATA else "",
        "blocks": blocks,
    }


def from_submission(body: Mapping[str, Any]) -> Incoming | None:
    """A `view_submission` of our form as the core's `submit` action; None for anything else."""
    view = field_map(body, "view")
    if body.get("type") != "view_submission" or view.get("callback_id") != CALLBACK_ID:
        return None
    user = field_str(field_map(body, "user"), "id")
    try:
        metadata = json.loads(field_str(view, "private_metadata") or "null")
    except ValueError:
        return None
    if not user or not isinstance(metadata, dict):
        return None
    channel, thread = field_str(metadata, "channel"), field_str(metadata, "thread")
    if not _CHANNEL.match(channel) or (thread and not _THREAD.match(thread)):
        return None
    values = field_map(field_map(view, "state"), "values")
    choice = field_map(field_map(values, CHOICE_BLOCK), CHOICE_ACTION)
    chosen = field_str(field_map(choice, "selected_option"), "value")
    why = field_str(field_map(field_map(values, WHY_BLOCK), WHY_ACTION), "value")
    message = ButtonPressed(
        action=feedback.SUBMIT,
        value=feedback.submission(field_str(metadata, "context"), chosen, why),
        user=user, channel=channel, platform="slack",
        id=f"view:{field_str(view, 'id')}" if field_str(view, "id") else "", thread=thread,
    )
    return Incoming(message, threaded=bool(thread), direct=channel.startswith("D"))


async def open_form(client: AsyncWebClient, reply: Reply, incoming: Incoming,
                    deliver: Callable[[Post], Awaitable[bool]]) -> bool:
    """Open the reply's form as a modal; if Slack cannot, thank the person instead."""
    assert reply.form is not None
    msg = incoming.message
    if incoming.trigger_id:
        view = modal(reply.form, msg.channel, msg.thread if incoming.threaded else "")
        try:
            await client.api_call("views.open",
                                  json={"trigger_id": incoming.trigger_id, "view": view})
            return True
        except SlackApiError as exc:
            log.warning("slack: views.open refused the feedback form (%s); thanking instead",
                        api_error(exc))
        except NETWORK_ERRORS as exc:
            log.error("slack: views.open failed: cannot reach the Web API (%s: %s)",
                      type(exc).__name__, exc)
    return await deliver(plan(Reply(text=feedback.THANKS, ephemeral=True), incoming))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
