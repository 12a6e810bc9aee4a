"""What a person's home with the bot shows (Slack's App Home): platform-neutral.

The playbooks, their own mute switch, the daily-prompt and digest subscriptions and
nudge switches of the channels they can see, and for admins this week's counts. The
adapter says which channels the person can see; without that, only admins see channels.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot import analytics
from bot.admin import Admins, stats_reply
from bot.channels import digest_space
from bot.messages import Reply
from bot.playbooks import Playbook
from bot.schedule import Subscription
from bot.store import Store, StoreError


@dataclass(frozen=True)
class Home:
    playbooks: tuple[Playbook, ...]
    muted: bool
    subscriptions: tuple[str, ...]
    """`<channel>: <when>` of each daily prompt the person can see."""
    digests: tuple[str, ...]
    nudges_off: tuple[str, ...]
    """The channels the person can see whose nudges are switched off."""
    stats: Reply | None = None
    """This week's counts, for admins."""
    unavailable: bool = False
    """The store could not be read: the switches shown may be out of date."""


async def build_home(store: Store, playbooks: tuple[Playbook, ...], admins: Admins,
                     platform: str, user: str, channels: Collection[str] | None,
                     now: float) -> Home:
    """Never raises for the store: a home page without its switches beats none."""
    admin = admins.allows(platform, user)

    def visible(channel: str) -> bool:
        return admin or (channels is not None and channel in channels)

    try:
        muted = await store.is_muted(f"{platform}:{user}")
        subs = await store.subscriptions(platform)
        digests = await store.subscriptions(digest_space(platform))
        off = await store.nudges_off(platform)
        stats = None
        if admin:
            week = analytics.recent_weeks(now, 1)
            found = await analytics.read_stats(store, week, [p.id for p in playbooks])
            stats = stats_reply(found)
    except StoreError:
        return Home(playbooks, False, (), (), (), None, unavailable=True)
    return Home(
        playbooks, muted,
        tuple(f"{c}: {_describe(platform, c, s)}" for c, s in sorted(subs.items()) if visible(c)),
        tuple(f"{c}: {_describe(platform, c, s)}" for c, s in sorted(digests.items())
              if visible(c)),
        tuple(c for c in sorted(off) if visible(c)),
        stats,
    )


def _describe(platform: str, channel: str, spec: str) -> str:
    try:
        return Subscription.from_json(platform, channel, spec).describe()
    except ValueError:
        return "damaged (subscribe again)"
