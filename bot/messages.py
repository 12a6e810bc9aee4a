"""What comes out of the core: small frozen values, and the platforms it speaks to.

Adapters render each `Reply` as Block Kit or an Adaptive Card (what goes in is in
`bot.events`). Text in a `Reply` is plain text; escaping it for a platform's markup
is the adapter's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["slack", "teams", "console"]
PLATFORMS: tuple[Platform, ...] = ("slack", "teams")
"""The chat platforms a server runs (the console is the terminal's): every list of them
is this one, and `touchpoint/platforms.py` registers an adapter for each."""


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
    answer (as the `value` of a `submit` `ButtonPressed`), so the core needs no state
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
