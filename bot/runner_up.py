"""When a guide answer should offer a second playbook next to the one it chose.

Wrong guide answers often ranked the right playbook second, so a close second
is offered as one button. "Close" is a fixed rule, so a reviewer can predict it:
the runner-up scores at least `SHARE` of the best score and at least `FLOOR`
(the matcher's own suggestion floor). The matcher's scores are peaked, so a second
playbook rarely scores much. The numbers were chosen on the corpus's training
writers, each fold read by a matcher built without its writers (scripts/tune.py's
folds, 2,442 guide questions): top-2 0.969 against 0.918 for the answer alone, with
a button on 7 % of answers; the earlier rule (a fifth of the best, at least 0.1)
reached 0.962 with a button on 4 %, and a share of 0.08 lost a question in a
thousand for 6 %.
"""

from __future__ import annotations

from collections.abc import Container

from bot.matcher import Candidate, MatchResult

SHARE = 0.05
"""The runner-up's score as a share of the best one's, at least."""
FLOOR = 0.05
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
