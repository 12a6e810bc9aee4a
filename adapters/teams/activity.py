"""Bot Framework activities (wire JSON) as the core's events: pure functions, no I/O.

Everything here works on the JSON Teams sends, not on the SDK's classes: the rules
about mentions, threads and who sent what are Teams' own, and stay true when the SDK
underneath is replaced. Every decision about what the bot ignores is made here, so
tests call it directly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict
from urllib.parse import urlparse

from adapters.teams import feedback as teams_feedback
from adapters.teams.cards import ACTION_KEY, JSON, PLAYBOOK_KEY
from bot import feedback
from bot.events import BotAdded, ButtonPressed, Event, Said, Via

MAX_ACTION_CHARS = 200
"""Button data comes back from the client; anything longer was not written by us."""
MAX_VALUE_CHARS = 2000
"""The same for a button's value, which may carry a question (see `bot.feedback`)."""

_THREAD = re.compile(r";messageid=(\d+)$")
_AT = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_COMMAND = re.compile(r"^([/@])([^\s:,]+)[\s:,]*")
COMMAND = "touchpoint"
"""`/touchpoint help` and `@Touchpoint help` typed as text: Slack's command, and the app's name."""


@dataclass(frozen=True)
class Where:
    """Where an activity happened, in the terms replies need."""

    conversation: str
    """The id to post to: in a channel it names the thread (`…;messageid=<root>`)."""
    root: str
    """The conversation without the thread: the channel, chat or 1:1."""
    thread: str
    """The id of the thread's first post in a channel, else empty."""
    kind: str
    """`personal`, `groupChat` or `channel`."""


def activity_problem(raw: object) -> str | None:
    """Why a request body is not an activity we can act on, or None when it is.

    Checked before the SDK sees it, so a malformed request is a 400 and nothing else.
    """
    if not isinstance(raw, dict):
        return "the body is not a JSON object"
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        return "the activity has no type"
    service_url = raw.get("serviceUrl")
    if not isinstance(service_url, str):
        return "the activity has no serviceUrl"
    parsed = urlparse(service_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "the activity's serviceUrl is not an http(s) URL"
    conversation = raw.get("conversation")
    if not isinstance(conversation, dict) or not _text(conversation.get("id")):
        return "the activity has no conversation id"
    for key in ("id", "text", "name", "channelId"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            return f"the activity's {key} is not a string"
    for key in ("from", "recipient", "channelData"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], dict):
            return f"the activity's {key} is not an object"
    for key in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], list):
            return f"the activity's {key} is not a list"
    return None


def root_of(conversation: str) -> str:
    """A channel thread's id without the thread: the channel's own conversation id."""
    match = _THREAD.search(conversation)
    return conversation[: match.start()] if match else conversation


def where(activity: Mapping[str, Any]) -> Where:
    conversation = _obj(activity.get("conversation"))
    full = _text(conversation.get("id"))
    match = _THREAD.search(full)
    root = root_of(full)
    kind = _text(conversation.get("conversationType")) or (
        "groupChat" if conversation.get("isGroup") else "personal")
    return Where(conversation=full, root=root, thread=match.group(1) if match else "",
                 kind=kind)


def delivery_id(activity: Mapping[str, Any]) -> str:
    """The core's dedupe key: Teams message ids are only unique within a conversation."""
    activity_id = _text(activity.get("id"))
    return f"{where(activity).root}/{activity_id}" if activity_id else ""


def user_of(activity: Mapping[str, Any]) -> str:
    """The person, by Entra object id when Teams gives it: stable across apps and chats."""
    sender = _obj(activity.get("from"))
    return _text(sender.get("aadObjectId")) or _text(sender.get("id"))


def mentions_bot(activity: Mapping[str, Any]) -> bool:
    return bool(_bot_mentions(activity))


def typed_text(activity: Mapping[str, Any]) -> str:
    """The words a person typed: the bot's @mention, markup and entities removed.

    Other people's mentions keep their names, which may matter to the matcher
    ("Alex says the client is upset").
    """
    text = _text(activity.get("text"))
    for mention in _bot_mentions(activity):
        if mention:
            text = text.replace(mention, " ")
    bot_name = _text(_obj(activity.get("recipient")).get("name"))
    text = _AT.sub(lambda m: " " if m.group(1).strip() == bot_name else m.group(1), text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text).replace("\xa0", " ")
    return " ".join(text.split())


def command_text(text: str, bot_name: str = "") -> tuple[str, str]:
    """The text without a leading `/touchpoint` or `@Touchpoint` (or `@<bot name>`), and
    which of `/` or `@` it started with ("" when neither). Teams sends both as plain text
    when typed rather than picked; a bare one asks for help."""
    if bot_name and text[:1] == "@" and text[1:].lower().startswith(bot_name.lower()):
        rest = text[1 + len(bot_name):]
        if not rest[:1].isalnum():
            return rest.lstrip(" :,") or "help", "@"
    match = _COMMAND.match(text)
    if match is None or match.group(2).lower() != COMMAND:
        return text, ""
    return text[match.end():] or "help", match.group(1)


def to_event(activity: Mapping[str, Any]) -> Event | None:
    """The core's event for an activity, or None when the bot should stay silent.

    Words in a personal chat are `Said` via `direct`; a channel or group chat message
    that mentions the bot via `mention`; one that does not (delivered by the
    resource-specific permission) via `channel`, where the core only nudges.
    `/touchpoint ...` in a channel or group chat comes via `command`, answered to the asker
    alone. A pressed button is a `ButtonPressed`, and the bot joining a conversation is
    `BotAdded`.
    """
    kind = activity.get("type")
    place = where(activity)
    if kind == "conversationUpdate":
        if not bot_added(activity):
            return None
        return BotAdded(**origin(activity))
    if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
        action = _obj(_obj(activity.get("value")).get("action"))
        return _pressed(activity, _obj(action.get("data")), _text(action.get("verb")))
    if kind != "message" or _from_bot(activity):
        return None
    value = activity.get("value")
    text, prefix = command_text(typed_text(activity),
                                _text(_obj(activity.get("recipient")).get("name")))
    if isinstance(value, dict) and not text and not prefix:
        return _pressed(activity, value, "")
    if place.kind == "personal":
        return _said(activity, text, "direct")
    if prefix == "/":
        return _said(activity, text, "command")
    if mentions_bot(activity) or prefix == "@":
        return _said(activity, text, "mention")
    if not text:
        return None
    return _said(activity, text, "channel")


def bot_added(activity: Mapping[str, Any]) -> bool:
    return _bot_in(activity, "membersAdded")


def bot_removed(activity: Mapping[str, Any]) -> bool:
    return _bot_in(activity, "membersRemoved")


def conversation_reference(activity: Mapping[str, Any]) -> JSON:
    """Where to post later, as Bot Framework's ConversationReference JSON.

    It points at the conversation's root, so a proactive post in a channel starts
    a new thread instead of landing in whichever thread happened to be last.
    """
    place = where(activity)
    conversation = dict(_obj(activity.get("conversation")))
    conversation["id"] = place.root
    reference: JSON = {
        "bot": _obj(activity.get("recipient")),
        "user": _obj(activity.get("from")),
        "conversation": conversation,
        "channelId": _text(activity.get("channelId")) or "msteams",
        "serviceUrl": _text(activity.get("serviceUrl")),
    }
    tenant = _text(_obj(_obj(activity.get("channelData")).get("tenant")).get("id"))
    if tenant:
        reference["conversation"].setdefault("tenantId", tenant)
    if activity.get("locale"):
        reference["locale"] = activity.get("locale")
    return reference


def _pressed(activity: Mapping[str, Any], data: Mapping[str, Any],
             verb: str) -> ButtonPressed | None:
    action = data.get(ACTION_KEY, verb)
    playbook = data.get(PLAYBOOK_KEY, "")
    if not isinstance(action, str) or not isinstance(playbook, str) or not action:
        return None
    if len(action) > MAX_ACTION_CHARS or len(playbook) > MAX_VALUE_CHARS:
        return None
    if action == feedback.SUBMIT:
        answered = teams_feedback.submission(data, playbook)
        if answered is None:
            return None
        playbook = answered
    return ButtonPressed(action=action, value=playbook, **origin(activity))


def _said(activity: Mapping[str, Any], text: str, via: Via) -> Said:
    return Said(text=text, via=via, **origin(activity))


class Origin(TypedDict):
    """The fields every event shares (`bot.events.Event`), as read from an activity."""

    user: str
    channel: str
    platform: Literal["teams"]
    id: str
    thread: str


def origin(activity: Mapping[str, Any]) -> Origin:
    """Who and where, as every event built from an activity says it."""
    place = where(activity)
    return Origin(user=user_of(activity), channel=place.root, platform="teams",
                  id=delivery_id(activity), thread=place.thread)


def _bot_mentions(activity: Mapping[str, Any]) -> list[str]:
    """The text of each mention of the bot ("" where Teams gave none)."""
    bot_id = _text(_obj(activity.get("recipient")).get("id"))
    if not bot_id:
        return []
    entities = [_obj(e) for e in _list(activity.get("entities"))]
    return [_text(e.get("text")) for e in entities
            if e.get("type") == "mention" and _text(_obj(e.get("mentioned")).get("id")) == bot_id]


def _bot_in(activity: Mapping[str, Any], key: str) -> bool:
    bot_id = _text(_obj(activity.get("recipient")).get("id"))
    return bool(bot_id) and any(
        _text(_obj(member).get("id")) == bot_id for member in _list(activity.get(key)))


def _from_bot(activity: Mapping[str, Any]) -> bool:
    sender = _obj(activity.get("from"))
    bot_id = _text(_obj(activity.get("recipient")).get("id"))
    return (bool(bot_id) and _text(sender.get("id")) == bot_id) or sender.get("role") == "bot"


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
