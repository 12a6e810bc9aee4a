"""The prompt of the day: which brand-promise prompt a channel sees, and how it reads.

Each channel walks through every prompt in an order of its own (so two
channels rarely show the same one on the same day), and sees none twice
until it has seen them all. The store remembers where each channel is; this
module only decides the order and the wording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.messages import Button, Reply, Section
from bot.playbooks import Playbook

INVITATION = "How did you live it today? Tell us in the thread."


@dataclass(frozen=True)
class Prompt:
    id: str
    """Stable while the text is unchanged, so editing one prompt does not reset a rotation."""
    text: str
    playbook: str
    title: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def prompt_pool(playbooks: Sequence[Playbook], only: Sequence[str] = ()) -> list[Prompt]:
    """Every prompt of the given playbooks (all when `only` is empty), each text once."""
    pool: dict[str, Prompt] = {}
    for playbook in playbooks:
        if only and playbook.id not in only:
            continue
        for text in playbook.prompts:
            prompt = Prompt(_digest(" ".join(text.split())), text, playbook.id, playbook.title)
            pool.setdefault(prompt.id, prompt)
    return list(pool.values())


def rotation(channel_key: str, pool: Sequence[Prompt]) -> list[Prompt]:
    """The channel's own order: a shuffle seeded by the channel, the same on every instance."""
    return sorted(pool, key=lambda p: _digest(f"{channel_key}\0{p.id}"))


def prompt_reply(prompt: Prompt) -> Reply:
    return Reply(
        text=f"Brand promise of the day: {prompt.text}",
        sections=(
            Section(title="Brand promise of the day", text=prompt.text),
            Section(text=INVITATION),
        ),
        buttons=(Button(f"Show {prompt.title}", "show", prompt.playbook),),
    )
