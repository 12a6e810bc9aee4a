"""Per-channel switches from chat: `nudges off|on` and `digest weekly|off`.

Anyone in a channel may switch its nudges (unless `TOUCHPOINT_NUDGE_SWITCHERS` names
who may); the weekly digest carries the unanswered questions, so only admins opt a
channel, or their own chat with the bot, in. Both live in the store, where every
instance reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.admin import Admins, not_admin_reply
from bot.messages import Message, Reply, Section
from bot.replies import command_prefix, notice
from bot.schedule import DAY_NAMES, Subscription, parse_time, parse_weekdays, parse_zone
from bot.store import Mutes, Subscriptions

DIGEST_SPACE = "digest"
DIGEST_AT = dt.time(9, 0)
DIGEST_ZONE = "UTC"
DIGEST_DAY = 0
"""Mondays, 09:00 UTC, unless the command says otherwise: last week's digest."""


def digest_space(platform: str) -> str:
    """Digest subscriptions are kept like daily-prompt ones, under their own platform name,
    so the store needs nothing new and the two never replace each other."""
    return f"{DIGEST_SPACE}:{platform}"


def person(msg: Message) -> str:
    return f"{msg.platform}:{msg.user}"


async def switch_nudges(store: Mutes, msg: Message, word: str, admins: Admins,
                        switchers: Admins) -> Reply:
    """`nudges off` / `nudges on` for the channel it is said in."""
    cmd = command_prefix(msg.platform)
    if word not in ("off", "on"):
        return notice(f"Say {cmd} nudges off to stop my nudges in this channel, or "
                      f"{cmd} nudges on to let them start again.")
    if switchers and not (switchers.allows(msg.platform, msg.user)
                          or admins.allows(msg.platform, msg.user)):
        return notice("Only the people listed in TOUCHPOINT_NUDGE_SWITCHERS (or an admin) may "
                      "switch nudges here; ask one of them.")
    if word == "off":
        await store.set_nudges(msg.platform, msg.channel, person(msg))
        return notice(f"Nudges are off in this channel: I won't add tips to its threads. "
                      f"{cmd} nudges on turns them back on; asking me still works.")
    await store.set_nudges(msg.platform, msg.channel, "")
    return notice(f"Nudges are on in this channel again. Anyone can stop them with "
                  f"{cmd} nudges off, and each person with {cmd} mute.")


def parse_digest(platform: str, channel: str, args: str) -> Subscription:
    """`weekly [HH:MM Zone] [day]`; ValueError says what to fix."""
    words = args.split()
    if not words or words[0].lower() != "weekly":
        raise ValueError("say digest weekly, or digest off")
    at, zone = DIGEST_AT, DIGEST_ZONE
    days: tuple[int, ...] = (DIGEST_DAY,)
    rest = words[1:]
    if rest and ":" in rest[0]:
        at = parse_time(rest[0])
        if len(rest) < 2:
            raise ValueError("after the time, say the time zone, e.g. 09:00 Europe/Berlin")
        zone = parse_zone(rest[1])
        rest = rest[2:]
    if rest:
        days = parse_weekdays(" ".join(rest))
        if len(days) != 1:
            raise ValueError("a weekly digest comes on one day, e.g. mon")
    return Subscription(platform, channel, at, zone, days)


async def digest(store: Subscriptions, msg: Message, args: str, admins: Admins,
                 now: float) -> Reply:
    """`digest weekly [09:00 Europe/Berlin] [mon]` or `digest off`, by an admin."""
    cmd = command_prefix(msg.platform)
    if not admins.allows(msg.platform, msg.user):
        return not_admin_reply("subscribe to the weekly digest")
    space = digest_space(msg.platform)
    if args.strip().lower() == "off":
        if await store.unsubscribe(space, msg.channel):
            return notice("Digest off: no more weekly digests here.")
        return notice("There is no weekly digest here to stop.")
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    try:
        sub = replace(parse_digest(msg.platform, msg.channel, args), since=moment)
    except ValueError as exc:
        examples = (f"{cmd} digest weekly", f"{cmd} digest weekly 08:30 Europe/Berlin mon",
                    f"{cmd} digest off")
        return Reply(text=f"I couldn't set up the digest: {exc}.",
                     sections=(Section(title="For example", text="", bullets=examples),),
                     ephemeral=True)
    await store.subscribe(space, msg.channel, sub.to_json())
    _, first = sub.next_run(moment)
    local = first.astimezone(sub.tz)
    return notice(f"Weekly digest on: every {DAY_NAMES[sub.weekdays[0]].capitalize()} at "
                  f"{sub.time_shown} ({sub.zone}) the week's most used playbooks, the questions "
                  f"no playbook answered and the answers marked not helpful. The first comes on "
                  f"{local:%a %d %b at %H:%M}. Stop it with {cmd} digest off.")
