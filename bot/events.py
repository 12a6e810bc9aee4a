"""What the core is told: one frozen value for each kind of thing that can happen.

Adapters translate Slack events, Teams activities, console lines and call webhooks
into these; `bot.handler.Handler.handle` answers each kind through its own method.
Every event says who and where; each kind adds only what it carries, so a customer's
name, a button's payload and a shortcut's message are never read from a shared field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.messages import Platform

Via = Literal["command", "mention", "direct", "channel"]
"""How words reached the bot: its slash command (answered to the asker alone), an
@mention or a direct chat (answered in the thread), or a channel message it overheard
(where it only nudges)."""
Kind = Literal["command", "mention", "direct", "channel", "action", "shortcut", "call_ended",
               "added"]
"""An event's label in logs and metrics: a `Said`'s `via`, or the kind of the others."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Who and where.

    `id` is the platform's delivery id (Slack `event_id`, Teams activity id); the
    core answers each id once, so a platform's retry costs nothing. `thread` is the
    thread the event happened in, when there is one. `team` is the Slack workspace it
    came from when Touchpoint is installed in many (its key, `E0123:T0456`), so what
    it counts and subscribes stays that workspace's (`Store.for_team`); empty for one
    workspace, Teams and the console.
    """

    user: str
    channel: str
    platform: Platform
    id: str = ""
    thread: str = ""
    team: str = ""

    @property
    def kind(self) -> Kind:
        raise NotImplementedError(type(self).__name__)


@dataclass(frozen=True, kw_only=True)
class Said(Event):
    """Someone wrote to the bot, or near it."""

    text: str
    via: Via

    @property
    def kind(self) -> Kind:
        return self.via


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Event):
    """A button of the bot's own was pressed, or one of its forms was sent.

    `action` is the button's action (`helpful`, `show`, `submit`, ...) and `value`
    what the button carried: a playbook id, or a form's answer (`bot.feedback`).
    """

    action: str
    value: str = ""

    @property
    def kind(self) -> Kind:
        return "action"


@dataclass(frozen=True, kw_only=True)
class ShortcutAsked(Event):
    """Someone asked, privately, for the playbook that fits another message (Slack's
    message shortcut, Teams' message action); `text` is that message."""

    text: str

    @property
    def kind(self) -> Kind:
        return "shortcut"


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    """A customer call ended; `user` is its owner and `channel` where the nudge goes.

    `texts` are what the call's source says about it (a title, a summary, the topics),
    each matched on its own; `customer` is named in the nudge.
    """

    texts: tuple[str, ...]
    customer: str = ""

    @property
    def kind(self) -> Kind:
        return "call_ended"


@dataclass(frozen=True, kw_only=True)
class BotAdded(Event):
    """The bot was just added to `channel` (by `user`, when known): the platform wants a
    greeting there, and only one even if the event is delivered twice."""

    @property
    def kind(self) -> Kind:
        return "added"
