"""Slack's payloads as the core's events: pure functions, no I/O, no bolt.

Every decision about what the bot ignores (other bots, its own echo, edits,
joins) is made here, on the raw payload, so it can be tested without a server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.events import BotAdded, ButtonPressed, Event, Said, Via

ACTION_PREFIX = "touchpoint:"
"""Every button the bot renders has an `action_id` starting with this."""

HUMAN_SUBTYPES = frozenset({"thread_broadcast", "file_share"})
"""Message subtypes that are still a person saying something new."""

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[CGD][A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_LABELLED = re.compile(r"<!(?:subteam\^|date\^)[^|>]*\|([^>]*)>")
_OTHER_SPECIAL = re.compile(r"<!([^|>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class Incoming:
    """An event plus what Slack needs later to answer it in the right place."""

    message: Event
    threaded: bool = False
    """The triggering message was itself inside a thread: answers stay there."""
    direct: bool = False
    """A conversation with the bot alone, where "only visible to you" adds nothing."""
    response_url: str = ""
    trigger_id: str = ""
    """A button press's `trigger_id`: lets the bot open a modal for a few seconds."""


class BadBody(ValueError):
    """A signed body that is not one of Slack's shapes; the reason is safe to log."""


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """What Slack sent, read by its content type: the Events API's JSON object, or a form
    (a body labelled otherwise is read by its shape, as bolt reads it: JSON starts with `{`).

    A form is interactivity when it has a `payload` field (JSON inside), otherwise a
    slash command's fields. bolt instead looks for the word "payload" anywhere in a
    form, so a command whose text, channel, team or user name held it lost its
    fields and got no answer.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("the body is not UTF-8") from None
    if content_type == "application/json" or text.startswith("{"):
        found = _json_object(text, "the body")
    else:
        fields = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in fields:
            return fields
        found = _json_object(fields["payload"], "the payload field")
    if not isinstance(found.get("type", ""), str):
        raise BadBody("type is not a string")
    actions = found.get("actions")
    if "actions" in found and not (isinstance(actions, list)
                                   and all(isinstance(a, dict) for a in actions)):
        raise BadBody("actions is not a list of objects")
    if "event" in found and not isinstance(found["event"], dict):
        raise BadBody("event is not an object")
    return found


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except RecursionError:
        raise BadBody(f"{what} is nested too deeply") from None
    except ValueError:
        raise BadBody(f"{what} is not JSON") from None
    if not isinstance(found, dict):
        raise BadBody(f"{what} is not a JSON object")
    return found


def decode_text(text: str, bot_user: str = "") -> str:
    """Slack's encoded text (`&lt;`, `<@U1>`, `<url|label>`) as the words a person sees.

    Mentions of the bot itself are dropped: "@Touchpoint help" means "help".
    """
    if bot_user:
        text = re.sub(rf"<@{re.escape(bot_user)}(?:\|[^>]*)?>", " ", text)
    text = _USER.sub(lambda m: "@" + (m.group(2) or "someone"), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(1) or "channel"), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _LABELLED.sub(lambda m: m.group(1), text)
    text = _OTHER_SPECIAL.sub("", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def from_command(form: Mapping[str, Any]) -> Incoming | None:
    """A slash command's form fields; any command the app receives is ours."""
    user, channel = field_str(form, "user_id"), field_str(form, "channel_id")
    if not user or not channel:
        return None
    message = Said(
        text=decode_text(field_str(form, "text")),
        via="command",
        user=user,
        channel=channel,
        platform="slack",
        id=field_str(form, "trigger_id"),
    )
    return Incoming(message, response_url=field_str(form, "response_url"))


def from_event(body: Mapping[str, Any], bot_user: str = "") -> Incoming | None:
    """An Events API envelope; None for everything the bot should not react to.

    `bot_user` is the bot's own user id when known. A channel message that
    mentions it is skipped, because the same words arrive again as `app_mention`.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        return None
    kind = field_str(event, "type")
    event_id = field_str(body, "event_id")
    if kind == "member_joined_channel":
        if not bot_user or field_str(event, "user") != bot_user:
            return None
        return Incoming(BotAdded(user=field_str(event, "inviter"),
                                 channel=field_str(event, "channel"), platform="slack",
                                 id=event_id))
    if kind not in ("message", "app_mention"):
        return None
    user, channel = field_str(event, "user"), field_str(event, "channel")
    text = field_str(event, "text")
    subtype = event.get("subtype")
    if (not user or not channel or event.get("bot_id") or event.get("hidden")
            or (subtype is not None and subtype not in HUMAN_SUBTYPES)
            or (bot_user and user == bot_user)):
        return None
    direct = field_str(event, "channel_type") == "im"
    said: Via
    if kind == "app_mention":
        said = "mention"
        if not bot_user:
            text = re.sub(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>", " ", text)
    elif direct:
        said = "direct"
    elif bot_user and f"<@{bot_user}" in text:
        return None
    else:
        said = "channel"
    thread = field_str(event, "thread_ts")
    message = Said(
        text=decode_text(text, bot_user),
        via=said,
        user=user,
        channel=channel,
        platform="slack",
        id=event_id,
        thread=thread or field_str(event, "ts"),
    )
    return Incoming(message, threaded=bool(thread), direct=direct)


def from_action(body: Mapping[str, Any]) -> Incoming | None:
    """A `block_actions` press on one of the bot's own buttons; None for anything else."""
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    pressed = actions[0]
    action = action_name(field_str(pressed, "action_id"))
    user = field_str(field_map(body, "user"), "id")
    container = field_map(body, "container")
    channel = field_str(field_map(body, "channel"), "id") or field_str(container, "channel_id")
    if not channel and field_str(container, "type") == "view":
        channel = user  # the Home tab: answers go to the person's chat with the bot
    if action is None or not user or not channel:
        return None
    thread = field_str(container, "thread_ts") or field_str(field_map(body, "message"), "thread_ts")
    delivery = field_str(body, "trigger_id") or (
        f"{field_str(container, 'message_ts')}:{field_str(pressed, 'action_ts')}"
    )
    message = ButtonPressed(
        action=action,
        value=field_str(pressed, "value"),
        user=user,
        channel=channel,
        platform="slack",
        id=delivery,
        thread=thread,
    )
    return Incoming(message, threaded=bool(thread),
                    direct=channel.startswith("D") or channel == user,
                    response_url=field_str(body, "response_url"),
                    trigger_id=field_str(body, "trigger_id"))


def action_id(action: str, index: int) -> str:
    """Slack wants action ids unique within a message, so the position is part of it."""
    return f"{ACTION_PREFIX}{action}:{index}"


def action_name(action_id: str) -> str | None:
    if not action_id.startswith(ACTION_PREFIX):
        return None
    name = action_id[len(ACTION_PREFIX):].partition(":")[0]
    return name or None


def field_map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`data[key]` when it is an object, else an empty one: payload fields are never trusted."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def field_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""
