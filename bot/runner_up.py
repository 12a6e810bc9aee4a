"""When a guide answer should offer a second playbook next to the one it chose.

Wrong guide answers often ranked the right playbook second, so a close second
is offered as one button. "Close" is a fixed rule, so a reviewer can predict it:
the runner-up scores at least `SHARE` of the best score and at least `FLOOR`
(which is above the matcher's own suggestion floor). The matcher's scores are
peaked, so a second playbook rarely scores much. The numbers were chosen on the
corpus's training writers (tests/data/corpus/train, 630 guide questions): the
highest top-2 (0.830, against 0.802 for the answer alone) with the fewest buttons
(under 9 % of answers); a third of the best score lost a third of that gain. On the
test writers (413 questions, never used to choose) top-1 is 0.799 and top-2 0.826,
with a button under 9 % of answers. Offering every candidate above the suggestion
floor would reach 0.835 there, with a button under 17 %.
"""

from __future__ import annotations

from collections.abc import Container

from bot.matcher import Candidate, MatchResult

SHARE = 0.2
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
