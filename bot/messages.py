"""What goes into the core and what comes out: small frozen values.

Adapters translate Slack events and Teams activities into a `Message` and
render each `Reply` as Block Kit or an Adaptive Card. Text in a `Reply` is
plain text; escaping it for a platform's markup is the adapter's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["command", "mention", "direct", "channel", "call_ended", "action", "added",
               "shortcut"]
Platform = Literal["slack", "teams", "console"]
PLATFORMS: tuple[Platform, ...] = ("slack", "teams")
"""The chat platforms a server runs (the console is the terminal's): every list of them
is this one, and `touchpoint/platforms.py` registers an adapter for each."""
KINDS: tuple[Kind, ...] = (
    "command", "mention", "direct", "channel", "call_ended", "action", "added", "shortcut",
)


@dataclass(frozen=True)
class Message:
    """Something a person (or a button press, or a webhook) said to the bot.

    `id` is the platform's delivery id (Slack `event_id`, Teams activity id);
    the core answers each id once, so a platform's retry costs nothing.
    For `action`, `text` is the button's action and `value` its payload.
    `added` means the bot was just added to `channel`: the platform wants a
    greeting there, and only one even if the event is delivered twice.
    `shortcut` is someone asking, privately, for the playbook that fits another
    message (Slack's message shortcut, Teams' message action): `text` is that message.
    """

    text: str
    user: str
    channel: str
    platform: Platform
    kind: Kind
    id: str = ""
    thread: str = ""
    value: str = ""


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    value: str = ""
    primary: bool = False


@dataclass(frozen=True)
class Section:
    """A block of the answer: an optional heading, then lines of text."""

    text: str
    title: str = ""
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    """A small form to fill in: which playbook would have fitted, and optionally why.

    `choices` are (value, label) pairs; `context` comes back unchanged with the
    answer (as `Message.value` of a `submit` action), so the core needs no state
    between the form and its answer.
    """

    title: str
    prompt: str
    choices: tuple[tuple[str, str], ...]
    context: str
    why_label: str = ""
    submit: str = "Send"


@dataclass(frozen=True)
class Reply:
    """One message to post. `channel` empty means the conversation it answers."""

    text: str
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    ephemeral: bool = False
    in_thread: bool = False
    channel: str = ""
    user: str = ""
    form: Form | None = None
    """Shown as a Slack modal or an Adaptive Card with inputs where the platform can;
    elsewhere `text` and `sections` say the same."""

    @property
    def text_repeats_first_section(self) -> bool:
        """The core often repeats its first section in `text`, as the notification line;
        a renderer that shows both would say it twice."""
        if not self.sections:
            return False
        first = self.sections[0]
        return self.text in (first.text, f"{first.title}: {first.text}")
