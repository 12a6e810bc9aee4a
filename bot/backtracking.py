"""Finding trigger regexes that backtrack catastrophically, for `touchpoint check`.

The matcher cuts every search off after `bot.regexes.TIMEOUT` and switches an
expression off after a few cut-offs, so a live set with such a regex costs
moments, not the process; but the trigger then never matches the messages it
was written for. `touchpoint check` catches it before it is merged, by trying
each regex on texts made to make it backtrack, with the matcher's own timeout.
Loading does not: trying every regex takes a while, and a reload must be quick.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.playbooks import PlaybookError, locate_playbook
from bot.regex_bounds import backtracks
from bot.regexes import TIMEOUT


def slow_regexes(documents: Iterable[tuple[str, str]],
                 timeout: float = TIMEOUT) -> list[PlaybookError]:
    """An error at each regex trigger that runs past `timeout` on some adversarial text.

    `documents` are `(source, text)` pairs of a set already validated.
    """
    errors = []
    for source, text in documents:
        playbook, marks = locate_playbook(source, text)
        for number, trigger in enumerate(playbook.triggers):
            if trigger.regex is None:
                continue
            attack = backtracks(trigger.regex, timeout)
            if attack is not None:
                line, column = marks.get(("triggers", number, "regex"), (1, 1))
                sample = attack[:12] + "…" + repr(attack[-1])
                errors.append(PlaybookError(
                    source, line, column, f"triggers[{number}].regex",
                    f"backtracks catastrophically: a search ran past {timeout:g} s on a "
                    f"message of {len(attack)} characters ({sample}), and the matcher would "
                    "cut it off there and never match; avoid repeats inside repeats and "
                    "alternatives that match the same text, e.g. (a|aa)+ or (\\w+\\s?)+"))
    return errors
