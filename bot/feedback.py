"""The learning loop: "Not helpful" asks which playbook would have fitted, and keeps the answer.

A correction is the question people asked, the playbook they were shown, the one
they say would have fitted (or `NONE`: not a customer moment), and optionally why.
Managers read them beside the unanswered questions, and `touchpoint suggest`
turns them into examples. The question travels with the button and the form
(scrubbed before it leaves the core), so nothing is held between the press and
the answer; it is scrubbed again when stored, since a form's answer comes back
from outside.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot import analytics
from bot.messages import Form, Reply
from bot.playbooks import Playbook
from bot.store import Usage

NONE = "none"
"""The choice that says no playbook fits: the message belongs in background.yaml."""
SUBMIT = "correction"
"""The action of an answered form."""
CORRECTIONS_KEPT = 200
"""Corrections kept per ISO week; older ones give way to newer."""
MAX_WHY = 300
MAX_FIELD = 100
THANKS = "Thanks: the playbook owners will see it and improve it."
FORM_TITLE = "Not helpful"
PROMPT = "Which playbook would have fitted?"
WHY = "Why? (optional)"


@dataclass(frozen=True)
class Correction:
    """One answered form, as stored: no user id, the words scrubbed."""

    shown: str
    chosen: str
    question: str = ""
    why: str = ""

    def to_json(self) -> str:
        return json.dumps({"shown": self.shown, "chosen": self.chosen,
                           "question": self.question, "why": self.why},
                          ensure_ascii=False, separators=(",", ":"))


def button_value(playbook: str, question: str) -> str:
    """What "Not helpful" carries: the playbook shown and the (scrubbed) question."""
    return json.dumps({"playbook": playbook, "question": analytics.scrub_question(question)},
                      ensure_ascii=False, separators=(",", ":")) if question else playbook


def read_button(value: str) -> tuple[str, str]:
    """The playbook and question of a "Not helpful" button; a bare id (older buttons, the
    whole-playbook view) has no question."""
    data = _object(value)
    if data is None:
        return value, ""
    return _field(data, "playbook", MAX_FIELD), _field(data, "question",
                                                       analytics.MAX_QUESTION)


def form_reply(playbooks: Sequence[Playbook], shown: Playbook, question: str) -> Reply:
    """The form "Not helpful" opens; where no form can be shown, the same words as text."""
    choices = tuple((p.id, p.title) for p in playbooks if p.id != shown.id)
    context = json.dumps({"shown": shown.id, "question": question}, ensure_ascii=False,
                         separators=(",", ":"))
    return Reply(
        text=f"Thanks. {PROMPT}",
        form=Form(title=FORM_TITLE, prompt=PROMPT,
                  choices=(*choices, (NONE, "None: not a customer moment")),
                  context=context, why_label=WHY),
        ephemeral=True,
    )


def submission(context: str, chosen: str, why: str) -> str:
    """The `Message.value` of an answered form, as adapters build it from the platform's
    fields; read back with `read_submission`."""
    return json.dumps({"context": context, "chosen": chosen, "why": why},
                      ensure_ascii=False, separators=(",", ":"))


def read_submission(value: str) -> Correction | None:
    """The correction in an answered form's value, scrubbed; None when it is not one."""
    data = _object(value)
    if data is None:
        return None
    context = _object(_field(data, "context", 4 * analytics.MAX_QUESTION))
    chosen = _field(data, "chosen", MAX_FIELD).strip()
    if context is None or not chosen:
        return None
    shown = _field(context, "shown", MAX_FIELD)
    if not shown:
        return None
    return Correction(shown=shown, chosen=chosen,
                      question=analytics.scrub_question(_field(context, "question",
                                                               4 * analytics.MAX_QUESTION)),
                      why=analytics.scrub_question(_field(data, "why", 4 * MAX_WHY))[:MAX_WHY])


def read_stored(text: str) -> Correction | None:
    """A stored correction; None for a damaged entry (skipped, never fatal)."""
    data = _object(text)
    if data is None:
        return None
    shown, chosen = _field(data, "shown", MAX_FIELD), _field(data, "chosen", MAX_FIELD)
    if not shown or not chosen:
        return None
    return Correction(shown, chosen, _field(data, "question", 4 * analytics.MAX_QUESTION),
                      _field(data, "why", 4 * MAX_WHY))


async def record(store: Usage, correction: Correction, now: float, days: float) -> bool:
    """Keep a correction in this week's list for `days` (the questions' retention);
    False when nothing may be kept (`days` of 0)."""
    ttl = analytics.question_ttl(now, days) if days > 0 else 0.0
    if ttl <= 0:
        return False
    await store.add_correction(analytics.iso_week(now), correction.to_json(),
                               CORRECTIONS_KEPT, ttl)
    return True


async def read_corrections(store: Usage, weeks: Sequence[str],
                           limit: int = CORRECTIONS_KEPT) -> list[Correction]:
    """The corrections of the given weeks, newest first; damaged entries left out."""
    found: list[Correction] = []
    for week in weeks:
        for text in await store.corrections(week, limit):
            correction = read_stored(text)
            if correction is not None:
                found.append(correction)
    return found


def _object(text: str) -> Mapping[str, object] | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _field(data: Mapping[str, object], key: str, limit: int) -> str:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) else ""
