"""Analytics and Schedule: what helped, what nobody answered yet, and when prompts go out.

Both only read the store. The charts are per playbook over ISO weeks because
the question managers ask is "did last week's change help?"; the questions
no playbook answered are grouped and counted, as the next playbooks to write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from bot import analytics, feedback
from bot.messages import PLATFORMS
from bot.playbooks import Playbook, PlaybookErrors
from bot.prompts import prompt_pool
from bot.schedule import Subscription
from bot.store import Store, StoreError
from touchpoint.loader import SCHEDULE, load_schedule
from touchpoint.prompt_schedule import read_schedule
from touchpoint.web.charts import SERIES, legend, line_chart
from touchpoint.web.context import context, live
from touchpoint.web.html import PREFIX, Html, Node, el
from touchpoint.web.views import respond

log = logging.getLogger("touchpoint.web")

WEEK_CHOICES = (4, 8, 12, 26, 52)
DEFAULT_WEEKS = 12
TOP_QUESTIONS = 20


def frequent_questions(weeks: Sequence[analytics.WeekStats],
                       limit: int = TOP_QUESTIONS) -> list[tuple[str, int]]:
    """The questions asked most often (case and spacing aside), the most recent wording shown."""
    counts: Counter[str] = Counter()
    wording: dict[str, str] = {}
    for week in weeks:  # newest first: the first wording seen is the latest
        for question in week.questions:
            key = " ".join(question.casefold().split()).strip(" ?!.")
            counts[key] += 1
            wording.setdefault(key, question)
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: recent first on ties
    return [(wording[key], count) for key, count in ranked[:limit] if key]


def _corrections(found: Sequence[feedback.Correction], names: dict[str, str]) -> Html:
    """What people said would have fitted, after "Not helpful": the same answer counted once,
    most frequent first; `touchpoint suggest` turns these into examples."""
    if not found:
        return el("p", "None in these weeks.", class_="muted")
    counts: Counter[feedback.Correction] = Counter(found)
    rows = []
    for correction, count in sorted(counts.items(), key=lambda item: -item[1]):
        chosen = "none (not a customer moment)" if correction.chosen == feedback.NONE \
            else names.get(correction.chosen, correction.chosen)
        asked: Node = el("a", correction.question, href=f"{PREFIX}/?" + urlencode(
            {"text": correction.question, "where": "command"})) if correction.question \
            else el("span", "(the whole playbook)", class_="muted")
        rows.append(el("tr", el("td", asked), el("td", el("code", correction.shown)),
                       el("td", chosen), el("td", correction.why), el("td", count),
                       class_="correction", data_shown=correction.shown,
                       data_chosen=correction.chosen))
    return el("table", el("thead", el("tr", [el("th", h) for h in (
        "asked", "shown", "would have fitted", "why", "times")])), el("tbody", rows),
        class_="corrections")


def _series(weeks: Sequence[analytics.WeekStats], playbook: str | None) -> dict[str, list[int]]:
    """Per series, the count of each week (oldest first); `None`: all playbooks together."""
    found: dict[str, list[int]] = {s.key: [] for s in SERIES}
    for week in weeks:
        rows = week.playbooks.values() if playbook is None else [
            week.playbooks.get(playbook, {})]
        for series in SERIES:
            found[series.key].append(sum(row.get(series.key, 0) for row in rows))
    return found


def _table(total: analytics.WeekStats) -> Html:
    rows = analytics.table_rows(total)
    return el("table", el("thead", el("tr", [el("th", h) for h in analytics.HEADERS])),
              el("tbody", [el("tr", [el("td", cell) for cell in row]) for row in rows]),
              class_="numbers")


def _calls(total: analytics.WeekStats) -> Html | None:
    """Nudges after customer calls, and the calls nobody could be found for: those need a
    route or a person in routing.yaml."""
    if not total.calls and not total.unrouted_calls:
        return None
    found = el("p", f"{total.calls} nudges after customer calls.", class_="muted calls")
    if not total.unrouted_calls:
        return found
    return el("div", found, el(
        "p", f"{total.unrouted_calls} customer calls found nobody to nudge: no route in ",
        el("code", "routing.yaml"), " matched, and their owner was not found by e-mail "
        "(see docs/webhooks.md).", class_="warning unrouted-calls", role="status"))


async def workspaces(request: web.Request) -> list[str]:
    """The Slack workspaces Touchpoint has served, when it is installed in many (each has
    analytics of its own); none otherwise, or when they cannot be read just now."""
    from touchpoint.slack_installs import WORKSPACES_KEY

    channels = request.config_dict.get(WORKSPACES_KEY)
    if channels is None:
        return []
    try:
        return sorted(await channels.teams())
    except Exception as exc:  # any backend of the workspace list: the page still shows
        log.warning("analytics: cannot read the Slack workspaces (%s: %s)",
                    type(exc).__name__, exc)
        return []


async def analytics_view(request: web.Request) -> web.Response:
    """`GET /manage/analytics?weeks=N&team=T`: charts per playbook, the table, unanswered
    questions; of one Slack workspace (`team`) when Touchpoint is installed in many."""
    ctx = context(request)
    try:
        count = int(request.query.get("weeks", DEFAULT_WEEKS))
    except ValueError:
        count = DEFAULT_WEEKS
    count = max(2, min(count, 52))
    names = {p.id: p.title for p in ctx.handler.playbooks.playbooks}
    recent = analytics.recent_weeks(ctx.handler.clock(), count)
    teams = await workspaces(request)
    team = request.query.get("team", teams[0] if teams else "")
    team = team if team in teams else ""
    picker = el("label", "Workspace ", el("select", [
        el("option", t or "none (Teams, and calls routed to no workspace)", value=t,
           selected=t == team) for t in (*teams, "")], name="team")) if teams else None
    choose = el("form", picker, el("label", "Weeks ", el("select", [
        el("option", n, value=n, selected=n == count) for n in WEEK_CHOICES], name="weeks")),
        el("button", "Show", type="submit"), method="get", action=f"{PREFIX}/analytics",
        class_="inline")
    store = ctx.handler.store.for_team(team)
    try:
        stats = await analytics.read_stats(store, recent, names, analytics.QUESTIONS_KEPT)
        corrected = await feedback.read_corrections(store, recent)
    except StoreError as exc:  # say so, do not 500
        log.warning("analytics: cannot read the store (%s: %s)", type(exc).__name__, exc)
        body: list[Node] = [el("h1", "Analytics"), choose,
                el("p", "The store is unreachable just now; try again in a minute.",
                   class_="error", role="alert")]
        return respond(request, "Analytics", "analytics", body, status=503)
    oldest_first = list(reversed(stats))
    labels = [w.week for w in oldest_first]
    total = analytics.combine(stats)
    busy = sorted(total.playbooks, key=lambda pid: (-sum(total.playbooks[pid].values()), pid))
    charts: list[Node] = []
    quiet: list[str] = []
    for pid in busy:
        if not any(total.playbooks[pid].get(s.key, 0) for s in SERIES):
            quiet.append(pid)
            continue
        title = names.get(pid, f"{pid} (no longer live)")
        charts.append(el("figure", el("figcaption", el("b", title), " ", el("code", pid)),
                         line_chart(f"{title}, per week", labels, _series(oldest_first, pid)),
                         class_="playbook-chart", data_playbook=pid))
    overall = el("figure", el("figcaption", el("b", "All playbooks")),
                 line_chart("All playbooks, per week", labels, _series(oldest_first, None)),
                 class_="playbook-chart", data_playbook="")
    asked = frequent_questions(stats)
    questions = el("ol", [el("li", el("a", q, href=f"{PREFIX}/?" + urlencode(
        {"text": q, "where": "command"})), el("span", f" ×{n}", class_="count"))
                          for q, n in asked], class_="questions") if asked else el(
        "p", "None kept in these weeks.", class_="muted")
    body = [el("h1", "Analytics"), choose,
            el("p", f"{labels[0]} to {labels[-1]}: {total.unmatched} questions matched no "
               "playbook.", class_="muted"),
            _calls(total), legend(),
            el("div", overall, charts, class_="charts"),
            el("p", "No guidance, nudges or feedback in these weeks: ", ", ".join(quiet),
               class_="muted quiet-playbooks") if quiet else None,
            el("h2", "Totals"), _table(total),
            el("h2", "The next playbooks to write"),
            el("p", "The questions no playbook answered, most frequent first "
               f"({analytics.SCRUBBED} removed). Open one to see the near misses.",
               class_="muted"),
            questions,
            el("h2", "What would have fitted"),
            el("p", 'Answers to "Not helpful": the playbook people were shown and the one '
               f"they say would have fitted ({analytics.SCRUBBED} removed). "
               "touchpoint suggest turns these and the questions above into examples.",
               class_="muted"),
            _corrections(corrected, names)]
    return respond(request, "Analytics", "analytics", body)


@dataclass(frozen=True)
class Planned:
    """One channel's next daily prompt."""

    sub: Subscription
    at: dt.datetime
    prompts: int
    """How many prompts its rotation draws from."""
    status: str


async def planned(store: Store, folder: Path, playbooks: Sequence[Playbook],
                  platforms_on: set[str] | None, now: dt.datetime, teams: Sequence[str] = (),
                  ) -> tuple[list[Planned], list[str], tuple[Subscription, ...]]:
    """Every channel's next prompt (schedule.yaml merged with chat, each of the Slack
    workspaces `teams` with its own), what could not be read, and the weekly digests."""
    problems: list[str] = []
    ids = [p.id for p in playbooks]
    try:
        from_git = await asyncio.to_thread(load_schedule, folder, ids)
    except PlaybookErrors as exc:
        from_git = []
        problems.extend(str(e) for e in exc.errors)
    schedule = await read_schedule(store, PLATFORMS, from_git, teams)
    problems.extend(schedule.problems)
    found = []
    for at, sub in schedule.next_runs(now):
        if sub.key in schedule.flagged:
            status = f"skipped: {schedule.flagged[sub.key]}"
        elif platforms_on is not None and sub.platform not in platforms_on:
            status = f"{sub.platform} is off on this server"
        else:
            status = "scheduled"
        found.append(Planned(sub, at, len(prompt_pool(playbooks, sub.playbooks)), status))
    return found, problems, schedule.digests


def _until(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"))
                    if n) or "now"


async def schedule_view(request: web.Request) -> web.Response:
    """`GET /manage/schedule`: the next prompt of every channel, soonest first."""
    from touchpoint.scheduler import SCHEDULER_KEY

    ctx = context(request)
    following = live(request)
    folder = following.reloader.folder if following is not None else ctx.settings.playbooks
    scheduler = request.config_dict.get(SCHEDULER_KEY)
    on = set(scheduler.outbounds) if scheduler is not None else None
    now = dt.datetime.fromtimestamp(ctx.handler.clock(), dt.UTC)
    try:
        rows, problems, digests = await planned(ctx.handler.store, folder,
                                                ctx.handler.playbooks.playbooks, on, now,
                                                await workspaces(request))
    except StoreError as exc:
        log.warning("schedule: cannot read the store (%s: %s)", type(exc).__name__, exc)
        body: list[Node] = [el("h1", "Schedule"), el(
            "p", "The store is unreachable just now; try again in a minute.", class_="error",
            role="alert")]
        return respond(request, "Schedule", "schedule", body, status=503)
    table: Node = el("p", f"No daily prompts scheduled: add {SCHEDULE} next to the playbooks, "
                     "or say /touchpoint subscribe 09:00 Europe/Berlin in a channel.",
                     class_="muted")
    if rows:
        table = el("table", el("thead", el("tr", [el("th", h) for h in (
            "next prompt (channel's time)", "UTC", "in", "channel", "schedule", "prompts",
            "made in", "status")])), el("tbody", [el(
                "tr", el("td", f"{p.at.astimezone(p.sub.tz):%a %d %b %H:%M}"),
                el("td", f"{p.at:%H:%M}"), el("td", _until(p.at - now)),
                el("td", el("code", p.sub.key)), el("td", p.sub.describe()),
                el("td", p.prompts, title=", ".join(p.sub.playbooks) or "every playbook"),
                el("td", p.sub.source), el("td", p.status),
                class_="planned", data_channel=p.sub.key) for p in rows]), class_="schedule")
    switches = await channel_switches(ctx.handler.store, digests)
    note = ("Preview: nothing is posted from here; touchpoint serve posts these."
            if ctx.preview else "")
    body = [el("h1", "Schedule"), el("p", note, class_="muted") if note else None,
            el("div", el("b", f"{SCHEDULE} or a subscription could not be read:"),
               el("ul", [el("li", p) for p in problems]), class_="error", role="alert")
            if problems else None, table, switches]
    return respond(request, "Schedule", "schedule", body)


async def channel_switches(store: Store, digests: Sequence[Subscription]) -> Node:
    """The channels whose nudges are switched off, per platform, and the weekly digests (a
    damaged one is among the schedule's problems)."""
    off: list[Node] = []
    rows = [el("tr", el("td", el("code", sub.key)), el("td", sub.describe()), class_="digest")
            for sub in sorted(digests, key=lambda sub: sub.key)]
    try:
        for platform in PLATFORMS:
            for channel, who in sorted((await store.nudges_off(platform)).items()):
                off.append(el("tr", el("td", el("code", f"{platform}:{channel}")),
                              el("td", who), class_="nudges-off"))
    except StoreError as exc:
        log.warning("schedule: cannot read the channel switches (%s: %s)",
                    type(exc).__name__, exc)
        return el("p", "The channel switches cannot be read just now.", class_="error")

    def table(rows: Sequence[Node], heads: tuple[str, str], empty: str) -> Node:
        if not rows:
            return el("p", empty, class_="muted")
        return el("table", el("thead", el("tr", [el("th", h) for h in heads])),
                  el("tbody", rows))

    return el("section", el("h2", "Nudges switched off"),
              table(off, ("channel", "switched off by"),
                    "Nudges are on in every channel (/touchpoint nudges off switches a "
                    "channel off)."),
              el("h2", "Weekly digests"),
              table(rows, ("channel", "when"),
                    "No weekly digest (an admin says /touchpoint digest weekly)."),
              class_="switches")
