"""Builders and fakes many tests share: the core's events with quiet defaults, and a clock.

Defaults are one Slack user in one channel, so a test names only what it is about.
"""

from __future__ import annotations

from bot.events import BotAdded, ButtonPressed, CallEnded, Said, ShortcutAsked, Via
from bot.messages import Platform


def said(text: str, via: Via = "command", *, user: str = "U1", channel: str = "C1",
         platform: Platform = "slack", id: str = "", thread: str = "") -> Said:
    return Said(text=text, via=via, user=user, channel=channel, platform=platform, id=id,
                thread=thread)


def pressed(action: str, value: str = "", *, user: str = "U1", channel: str = "C1",
            platform: Platform = "slack", id: str = "", thread: str = "") -> ButtonPressed:
    return ButtonPressed(action=action, value=value, user=user, channel=channel,
                         platform=platform, id=id, thread=thread)


def shortcut(text: str, *, user: str = "U1", channel: str = "C1",
             platform: Platform = "slack", id: str = "") -> ShortcutAsked:
    return ShortcutAsked(text=text, user=user, channel=channel, platform=platform, id=id)


def added(*, user: str = "U1", channel: str = "C1", platform: Platform = "slack",
          id: str = "") -> BotAdded:
    return BotAdded(user=user, channel=channel, platform=platform, id=id)


def call_ended(*texts: str, customer: str = "", user: str = "U1", channel: str = "C1",
               platform: Platform = "slack") -> CallEnded:
    return CallEnded(texts=texts, customer=customer, user=user, channel=channel,
                     platform=platform)


class Clock:
    """Time that moves only when a test sets `now`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
