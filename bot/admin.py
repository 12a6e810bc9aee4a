"""Who may change the bot from chat, and what the admin commands answer.

Reloading playbooks and reading usage statistics are for the people listed in
`TOUCHPOINT_ADMINS`; the work itself (files, git) belongs to the process, so the
core only sees it through the small `Operations` interface the server supplies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot import analytics
from bot.messages import Reply, Section

MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class Admins:
    """User ids, bare (`U0123ABCD`) or for one platform (`slack:U0123ABCD`, `teams:<aad id>`).

    A bare id is accepted on any platform: Slack and Teams ids never look alike.
    """

    ids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: str | Iterable[str]) -> Admins:
        parts = raw.split(",") if isinstance(raw, str) else raw
        return cls(frozenset(p.strip() for p in parts if p.strip()))

    def allows(self, platform: str, user: str) -> bool:
        return bool(user) and (user in self.ids or f"{platform}:{user}" in self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did, for the admin who asked and for the log."""

    ok: bool
    changed: bool
    version: str
    playbooks: int
    errors: tuple[str, ...] = ()
    reason: str = ""


class Operations(Protocol):
    """The process's side of the admin commands: reloading and describing what is live."""

    async def reload(self, requested_by: str) -> ReloadOutcome:
        """Load the playbooks again now (fetching git first when following a repository)."""

    def about(self) -> list[str]:
        """Lines for `/touchpoint about`: where the playbooks come from and what is live."""


def not_admin_reply(what: str) -> Reply:
    return Reply(text=f"Only Touchpoint admins can {what}. Admins are listed in "
                 "TOUCHPOINT_ADMINS; ask one of them.", ephemeral=True)


def reload_reply(outcome: ReloadOutcome) -> Reply:
    version = f" (version {outcome.version})" if outcome.version else ""
    if outcome.ok:
        verb = "Reloaded" if outcome.changed else "No change"
        return Reply(text=f"{verb}: {outcome.playbooks} playbooks live{version}.",
                     ephemeral=True)
    return failure_reply(outcome, ephemeral=True)


def failure_reply(outcome: ReloadOutcome, *, ephemeral: bool = False) -> Reply:
    """The errors of a rejected playbook change, file:line first, so they can be fixed."""
    shown = outcome.errors[:MAX_ERRORS_SHOWN]
    more = len(outcome.errors) - len(shown)
    bullets = (*shown, f"... and {more} more") if more > 0 else shown
    version = f" (version {outcome.version})" if outcome.version else ""
    cause = f" after {outcome.reason}" if outcome.reason else ""
    return Reply(
        text=f"Playbook change rejected{cause}: {len(outcome.errors)} error(s). Still serving "
        f"the last good set: {outcome.playbooks} playbooks{version}.",
        sections=(Section(title="Errors", text="", bullets=tuple(bullets)),),
        ephemeral=ephemeral,
    )


def about_reply(playbooks: int, version: str, lines: Sequence[str]) -> Reply:
    live = f"{playbooks} playbooks live" + (f", version {version}" if version else "")
    return Reply(text=f"Touchpoint: {live}.",
                 sections=(Section(text="", bullets=tuple(lines)),) if lines else (),
                 ephemeral=True)


def stats_reply(weeks: Sequence[analytics.WeekStats], questions: int = 10) -> Reply:
    """This period's table per playbook, and the questions no playbook answered yet."""
    total = analytics.combine(weeks)
    rows = analytics.table_rows(total)
    lines = tuple(
        f"{row[0]}: guide {row[1]}, nudge {row[2]}, helpful {row[3]}, not helpful {row[4]}, "
        f"share {row[5]}" + (f" ({row[6]}% helpful)" if row[6] != "-" else "")
        for row in rows if row[0] == "total" or any(cell != "0" for cell in row[1:6])
    )
    sections = [Section(title=f"Weeks {total.week}", text="" if len(lines) > 1 else
                        "Nothing counted yet.", bullets=lines)]
    sections.append(Section(
        title=f"Questions no playbook answered ({total.unmatched})",
        text="" if total.questions else "None kept.",
        bullets=tuple(total.questions[:questions]),
    ))
    return Reply(text=f"Playbook usage, {total.week}.", sections=tuple(sections),
                 ephemeral=True)
