"""When a guide answer should offer a second playbook next to the one it chose.

Wrong guide answers often ranked the right playbook second, so a close second
is offered as one button. "Close" is a fixed rule, so a reviewer can predict it:
the runner-up scores at least `SHARE` of the best score and at least `FLOOR`
(which is above the matcher's own suggestion floor). Anything fainter would put
a second button under nearly every answer and teach people to ignore it.
"""

from __future__ import annotations

from collections.abc import Container

from bot.matcher import Candidate, MatchResult

SHARE = 1 / 3
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
