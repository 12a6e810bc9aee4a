"""Usage per playbook and per ISO week, for the managers who own the playbooks.

Managers ask "did my change last week help?", so counters are kept per week as
well as all-time, and the questions no playbook answered are kept as text for
them to turn into examples. Those questions are scrubbed (`SCRUBBED` says of what,
in the words the manager page uses) before they are stored, and kept for a limited
time only: the statistics are about the playbooks, never about who asked or whom
they asked about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.store import Usage

KINDS = ("guide", "nudge", "helpful", "not_helpful", "share")
"""The per-playbook counters, as `<kind>:<playbook id>`, in table order."""
UNMATCHED = "unmatched"
CALLS = "call_ended"
UNROUTED_CALLS = "call_unrouted"
"""Customer calls reported by a webhook whose owner nobody could find (no route, no user)."""
QUESTIONS_KEPT = 200
"""Unmatched questions kept per week; older ones give way to newer."""
MAX_QUESTION = 300

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+")
"""Starts only where a run of address characters starts: tried from inside a run too, it
took seconds on a message of one long word."""
_MENTION = re.compile(r"@[\w.\-]+")
_PLATFORM_ID = re.compile(r"\b(?:[UW][A-Z0-9]{8,}|29:[\w-]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-"
                          r"[0-9a-f]{12})\b", re.IGNORECASE)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_CODE = re.compile(r"\b\w*\d\w*\b")
"""A word with a digit in it: one with four or more (`INC0012345`) is an id."""
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d ().\-/]*\d")
"""Digits with the spaces, dashes, dots, slashes and brackets phone numbers are written with."""
_NOT_NAMES = ("me|us|him|her|them|you|it|myself|the|a|an|my|our|your|their|his|its|this|"
              "that|these|those|there|here|someone|somebody|anyone|anybody|everyone|"
              "everybody|customer|customers|client|clients|prospect|prospects|home|now|"
              "today|then|what|how|why|when|where|which|who|whether|if|all|some|any|each|"
              "every|one|both|time|scratch")
_NAME = re.compile(rf"(?i:\b(from|tell)\s+)(?!(?i:{_NOT_NAMES})\b)"
                   r"[^\W\d_][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2}")
"""The word after "from" or "tell" (unless a common one such as "the" or "me"), and up to
two capitalised words after it: "tell John Smith", "a call from Acme"."""
MIN_ID_DIGITS = 4
SCRUBBED = ("@-mentions, user ids, e-mail addresses, numbers and codes of four or more "
            'digits (phone numbers, ids) and the name after "from" or "tell"')
"""What `scrub_question` takes out of a question, as the manager page and README say it."""


class Observer(Protocol):
    """Where the process's metrics hear about the core's work, without `bot/` knowing them."""

    def counted(self, counter: str) -> None:
        """A usage counter (`guide:<id>`, `unmatched`, ...) went up by one."""

    def handled(self, kind: str, seconds: float, failed: bool) -> None:
        """One message was answered (or raised) after `seconds`."""


class NoObserver:
    """The console and the tests need no metrics."""

    def counted(self, counter: str) -> None:
        return None

    def handled(self, kind: str, seconds: float, failed: bool) -> None:
        return None


def iso_week(timestamp: float) -> str:
    """`2024-W05`: the ISO week (Monday to Sunday, UTC) a moment falls in."""
    year, week, _ = datetime.fromtimestamp(timestamp, tz=UTC).isocalendar()
    return f"{year}-W{week:02d}"


def recent_weeks(timestamp: float, count: int) -> list[str]:
    """This week and the `count - 1` before it, newest first."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return [iso_week((moment - timedelta(weeks=n)).timestamp()) for n in range(max(1, count))]


def is_week(text: str) -> bool:
    found = _WEEK.match(text)
    return found is not None and 1 <= int(found.group(2)) <= 53


def scrub_question(text: str) -> str:
    """A question as managers may read it: one line, short, without `SCRUBBED`."""
    line = " ".join(text.split())
    line = _EMAIL.sub("<email>", line)
    line = _MENTION.sub("@someone", line)
    line = _PLATFORM_ID.sub("<id>", line)
    line = _CODE.sub(_code, line)
    line = _DIGIT_RUN.sub(_number, line)
    line = _NAME.sub(lambda found: f"{found.group(1)} <name>", line)
    return line if len(line) <= MAX_QUESTION else line[: MAX_QUESTION - 1] + "…"


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _code(found: re.Match[str]) -> str:
    word = found.group()
    return "<id>" if _digits(word) >= MIN_ID_DIGITS and not word.isdigit() else word


def _number(found: re.Match[str]) -> str:
    return "<number>" if _digits(found.group()) >= MIN_ID_DIGITS else found.group()


def question_ttl(timestamp: float, days: float) -> float:
    """Seconds a question asked at `timestamp` may be kept: its week's list goes `days` days
    after the week began, so none is kept longer than `days` days (nor much shorter)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    monday = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) - timedelta(
        days=moment.weekday())
    return monday.timestamp() + days * 86400 - timestamp


@dataclass
class WeekStats:
    """One week's counters, grouped by playbook."""

    week: str
    playbooks: dict[str, dict[str, int]] = field(default_factory=dict)
    unmatched: int = 0
    questions: list[str] = field(default_factory=list)
    calls: int = 0
    """Call-ended nudges built (a nudge retried after a failed post may count twice)."""
    unrouted_calls: int = 0

    def to_json(self) -> dict[str, object]:
        return {"week": self.week, "playbooks": self.playbooks, "unmatched": self.unmatched,
                "questions": self.questions, "calls": self.calls,
                "unrouted_calls": self.unrouted_calls}


def week_stats(week: str, counters: Mapping[str, int], questions: Sequence[str] = (),
               playbook_ids: Iterable[str] = ()) -> WeekStats:
    """Group `<kind>:<id>` counters by playbook; every id in `playbook_ids` gets a row."""
    stats = WeekStats(week, {pid: dict.fromkeys(KINDS, 0) for pid in playbook_ids},
                      counters.get(UNMATCHED, 0), list(questions), counters.get(CALLS, 0),
                      counters.get(UNROUTED_CALLS, 0))
    for name, value in counters.items():
        kind, _, playbook = name.partition(":")
        if kind in KINDS and playbook:
            stats.playbooks.setdefault(playbook, dict.fromkeys(KINDS, 0))[kind] += value
    stats.playbooks = dict(sorted(stats.playbooks.items()))
    return stats


def combine(weeks: Sequence[WeekStats]) -> WeekStats:
    """Several weeks as one, for a table over a period; questions newest week first."""
    label = f"{weeks[-1].week}..{weeks[0].week}" if len(weeks) > 1 else (
        weeks[0].week if weeks else "")
    total = WeekStats(label)
    for week in weeks:
        for playbook, counts in week.playbooks.items():
            row = total.playbooks.setdefault(playbook, dict.fromkeys(KINDS, 0))
            for kind, value in counts.items():
                row[kind] = row.get(kind, 0) + value
        total.unmatched += week.unmatched
        total.calls += week.calls
        total.unrouted_calls += week.unrouted_calls
        total.questions.extend(week.questions)
    total.playbooks = dict(sorted(total.playbooks.items()))
    return total


async def read_stats(store: Usage, weeks: Sequence[str], playbook_ids: Iterable[str] = (),
                     questions: int = 20) -> list[WeekStats]:
    """The given weeks' statistics from the store, in the order given."""
    ids = list(playbook_ids)
    found = []
    for week in weeks:
        counters = await store.week_counters(week)
        asked = await store.questions(week, questions) if questions > 0 else []
        found.append(week_stats(week, counters, asked, ids))
    return found


HEADERS = ("playbook", "guide", "nudge", "helpful", "not helpful", "share", "helpful %")


def helpful_rate(counts: Mapping[str, int]) -> str:
    """The share of feedback that was positive; "-" before anyone pressed a button."""
    votes = counts.get("helpful", 0) + counts.get("not_helpful", 0)
    return f"{100 * counts.get('helpful', 0) / votes:.0f}" if votes else "-"


def table_rows(stats: WeekStats) -> list[tuple[str, ...]]:
    """The rows of the stats table, busiest playbook first, with a total row."""
    rows = sorted(stats.playbooks.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    body = [(pid, *(str(c.get(k, 0)) for k in KINDS), helpful_rate(c)) for pid, c in rows]
    totals = {k: sum(c.get(k, 0) for c in stats.playbooks.values()) for k in KINDS}
    return [*body, ("total", *(str(totals[k]) for k in KINDS), helpful_rate(totals))]


def format_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS) -> list[str]:
    """Fixed-width text: the first column left-aligned, numbers right-aligned."""
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                        strict=True)]
        return "  ".join(cells).rstrip()

    return [line(headers), *(line(r) for r in rows)]
