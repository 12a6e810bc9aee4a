"""`subscribe` and `unsubscribe`: a channel asks for (or stops) the daily brand-promise prompt.

The subscription lives in the store, where every instance's scheduler reads
it within a minute; the reply says exactly what was understood, so a wrong
zone or time is seen at once rather than at 3 a.m.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.messages import Message, Reply, Section
from bot.replies import command_prefix, notice
from bot.schedule import parse_subscribe
from bot.store import Subscriptions


def usage(platform: str, problem: str) -> Reply:
    cmd = command_prefix(platform)
    return Reply(
        text=f"I couldn't schedule that: {problem}.",
        sections=(Section(title="For example", text="", bullets=(
            f"{cmd} subscribe 09:00 Europe/Berlin",
            f"{cmd} subscribe 8:30 America/New_York mon,wed,fri",
            f"{cmd} subscribe 16:00 Asia/Tokyo daily",
        )),),
        ephemeral=True,
    )


async def subscribe(store: Subscriptions, msg: Message, args: str, now: float) -> Reply:
    """Save the subscription (raises what the store raises); a malformed one gets usage."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    try:
        sub = replace(parse_subscribe(msg.platform, msg.channel, args), since=moment)
    except ValueError as exc:
        return usage(msg.platform, str(exc))
    await store.subscribe(msg.platform, msg.channel, sub.to_json())
    await store.unflag(msg.platform, msg.channel)
    _, first = sub.next_run(moment)
    local = first.astimezone(sub.tz)
    today = moment.astimezone(sub.tz).date()
    passed = replace(sub, since=None).last_run(moment)
    missed = "The"
    if passed is not None and passed[0] == today:
        missed = f"Today's {sub.time_shown} has passed, so the"
    return notice(f"Subscribed: a brand-promise prompt here at {sub.describe()}. {missed} "
                  f"first one comes on {local:%a %d %b at %H:%M} ({sub.zone}). Stop it with "
                  f"{command_prefix(msg.platform)} unsubscribe.")


async def unsubscribe(store: Subscriptions, msg: Message) -> Reply:
    if await store.unsubscribe(msg.platform, msg.channel):
        return notice("Unsubscribed: no more daily prompts here (a schedule kept in "
                      "schedule.yaml for this channel, if any, applies again).")
    return notice("This channel has no daily prompt subscription made in chat; one kept in "
                  "schedule.yaml is changed there.")
