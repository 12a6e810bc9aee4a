"""The weekly digest: last week's most used playbooks, unanswered questions and the
answers people marked not helpful, for the channels and admins who opted in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from bot import analytics, feedback
from bot.messages import Reply, Section
from bot.store import Usage

TOP = 5
QUESTIONS = 10


def digest_week(day: dt.date) -> str:
    """The ISO week a digest posted on `day` covers: the last full one."""
    return dt.date.fromordinal(day.toordinal() - 7).strftime("%G-W%V")


def digest_reply(stats: analytics.WeekStats, titles: Mapping[str, str],
                 corrections: Sequence[feedback.Correction] = ()) -> Reply:
    def used(counts: Mapping[str, int]) -> int:
        return counts.get("guide", 0) + counts.get("nudge", 0) + counts.get("share", 0)

    busiest = sorted(((pid, c) for pid, c in stats.playbooks.items() if used(c)),
                     key=lambda row: (-used(row[1]), row[0]))[:TOP]
    unhelpful = sorted(((pid, c) for pid, c in stats.playbooks.items()
                        if c.get("not_helpful", 0)),
                       key=lambda row: (-row[1].get("not_helpful", 0), row[0]))
    sections = [
        Section(title="Most used playbooks", text="" if busiest else "None used this week.",
                bullets=tuple(f"{titles.get(pid, pid)}: {used(c)} times" for pid, c in busiest)),
        Section(title=f"Questions no playbook answered ({stats.unmatched})",
                text="" if stats.questions else "None kept.",
                bullets=tuple(stats.questions[:QUESTIONS])),
        Section(title="Answers marked not helpful",
                text="" if unhelpful else "None.",
                bullets=tuple(f"{titles.get(pid, pid)}: {c.get('not_helpful', 0)} not helpful, "
                              f"{c.get('helpful', 0)} helpful" for pid, c in unhelpful)),
    ]
    if corrections:
        said = []
        for found in corrections[:QUESTIONS]:
            chosen = "no playbook" if found.chosen == feedback.NONE else \
                titles.get(found.chosen, found.chosen)
            line = f"{titles.get(found.shown, found.shown)} \u2192 {chosen}"
            if found.question:
                line += f' for "{found.question}"'
            said.append(line + (f": {found.why}" if found.why else ""))
        sections.append(Section(title="What people said would have fitted", text="",
                                bullets=tuple(said)))
    return Reply(text=f"Touchpoint weekly digest, {stats.week}.", sections=tuple(sections))


async def build_digest(store: Usage, week: str, titles: Mapping[str, str],
                       ids: Sequence[str] = ()) -> Reply:
    """Reads the store (raises what it raises)."""
    found = await analytics.read_stats(store, [week], ids or list(titles), QUESTIONS)
    corrections = await feedback.read_corrections(store, [week], QUESTIONS)
    return digest_reply(found[0], titles, corrections)
