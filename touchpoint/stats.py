"""`touchpoint stats`: usage per playbook from the shared store, for managers and scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bot import analytics
from bot.playbooks import PlaybookErrors, parse_playbooks
from bot.routing import slack_team
from bot.store import StoreError
from touchpoint.loader import read_documents
from touchpoint.settings import Settings
from touchpoint.stores import opened_store


def playbook_ids(folder: Path) -> list[str]:
    """The ids in the folder, so unused playbooks show up as rows of zeros; none if unreadable."""
    try:
        documents, errors = read_documents(folder)
        return [] if errors else [p.id for p in parse_playbooks(documents)]
    except PlaybookErrors:
        return []


def render(weeks: list[analytics.WeekStats], questions: int) -> list[str]:
    total = analytics.combine(weeks)
    lines = [f"Playbook usage, {total.week} ({len(weeks)} week{'s' * (len(weeks) != 1)})", ""]
    lines += analytics.format_table(analytics.table_rows(total))
    lines += ["", "Per week:"]
    for week in reversed(weeks):
        counts = {k: sum(c.get(k, 0) for c in week.playbooks.values()) for k in analytics.COLUMNS}
        lines.append(f"  {week.week}: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                    for k, v in counts.items())
                     + f", unanswered {week.unmatched}")
    lines += ["", f"Questions no playbook answered ({total.unmatched}, newest first):"]
    lines += [f"  - {q}" for q in total.questions[:questions]] or ["  (none kept)"]
    return lines


def cmd_stats(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    if not settings.uses_redis:
        print("touchpoint stats reads the shared store: set REDIS_URL (and "
              "TOUCHPOINT_REDIS_PREFIX) as for touchpoint serve. Without Redis the counters "
              "live in the server's memory; an admin can read them with /touchpoint stats.",
              file=sys.stderr)
        return 2
    try:
        team = slack_team(args.team)
    except ValueError as exc:
        print(f"--team: {exc}", file=sys.stderr)
        return 2
    weeks = analytics.recent_weeks(time.time(), args.weeks)

    async def run() -> list[analytics.WeekStats]:
        async with opened_store(settings) as store:
            return await analytics.read_stats(store.for_team(team), weeks,
                                              playbook_ids(folder), args.questions)

    try:
        found = asyncio.run(run())
    except StoreError as exc:  # one line, not a traceback
        print(f"cannot read the store: {exc}", file=sys.stderr)
        return 1
    if args.json:
        total = analytics.combine(found)
        print(json.dumps({"team": team, "weeks": [w.to_json() for w in found],
                          "total": total.to_json()}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(([f"Slack workspace {team}", ""] if team else [])
                        + render(found, args.questions)))
    return 0
