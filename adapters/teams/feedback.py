"""The "Not helpful" form on Teams: an Adaptive Card with inputs, and its submit read back.

Teams merges a card's input values into the pressed action's `data` (for
Action.Execute in `value.action.data`, for Action.Submit in the message's
`value`), next to the keys our buttons always carry, so the answer arrives like
any other button press and `teams_cards` hands it here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import feedback
from bot.messages import Form

JSON = dict[str, Any]

CHOICE_ID = "touchpoint_choice"
WHY_ID = "touchpoint_why"
MAX_CHOICE = 100
MAX_WHY_CHARS = 4 * feedback.MAX_WHY
"""Longer input than the card allows was not typed into it."""


def form_body(form: Form) -> list[JSON]:
    """The card's inputs: a required choice of playbooks, then an optional line of why."""
    body: list[JSON] = [{
        "type": "Input.ChoiceSet",
        "id": CHOICE_ID,
        "label": form.prompt,
        "style": "compact",
        "isRequired": True,
        "errorMessage": "Choose a playbook, or None.",
        "placeholder": "Choose a playbook",
        "choices": [{"title": label, "value": value} for value, label in form.choices],
    }]
    if form.why_label:
        body.append({"type": "Input.Text", "id": WHY_ID, "label": form.why_label,
                     "isMultiline": True, "maxLength": feedback.MAX_WHY})
    return body


def form_action(form: Form, action_key: str, value_key: str) -> JSON:
    """Send: Action.Execute, falling back to Action.Submit, with the form's context as its
    data (under the keys every button of ours uses)."""
    data = {action_key: feedback.SUBMIT, value_key: form.context}
    submit: JSON = {"type": "Action.Submit", "title": form.submit, "data": data,
                    "style": "positive"}
    return {"type": "Action.Execute", "title": form.submit, "verb": feedback.SUBMIT,
            "data": data, "style": "positive", "fallback": submit}


def submission(data: Mapping[str, Any], context: str) -> str | None:
    """The core's value for a submitted form, from the action's merged `data`; None when
    an input is not what the card sends (a string, within its length)."""
    chosen = data.get(CHOICE_ID, "")
    why = data.get(WHY_ID, "")
    if not isinstance(chosen, str) or not isinstance(why, str):
        return None
    if len(chosen) > MAX_CHOICE or len(why) > MAX_WHY_CHARS:
        return None
    return feedback.submission(context, chosen, why)
