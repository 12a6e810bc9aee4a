"""The one reader of who gets a post when: schedule.yaml, the chat subscriptions and flags.

The scheduler, `touchpoint schedule` / `touchpoint prompt` and the manager's
Schedule page all see the effective schedule through `effective_schedule`, so
a channel subscribed in chat replaces its schedule.yaml entry the same way
everywhere, and a flagged channel is flagged everywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.channels import digest_space
from bot.playbooks import Playbook, PlaybookErrors
from bot.schedule import Subscription, merge
from bot.store import Store
from touchpoint.loader import SCHEDULE, load_schedule

log = logging.getLogger("touchpoint.prompts")


@dataclass(frozen=True)
class FromChat:
    """What channels asked for in chat, as the store holds it."""

    prompts: tuple[Subscription, ...] = ()
    digests: tuple[Subscription, ...] = ()
    flagged: Mapping[str, str] = field(default_factory=dict)
    """Channels the bot cannot post to, as `platform:channel` (a `Subscription.key`): why."""
    problems: tuple[str, ...] = ()
    """Damaged subscriptions, skipped: `platform:channel: why`."""


async def read_chat(store: Store, platforms: Sequence[str],
                    teams: Collection[str] = ()) -> FromChat:
    """Every subscription and weekly digest made in chat on `platforms`, and the flags:
    the plain store's, and on Slack each of `teams`' own (the workspaces Touchpoint is
    installed in, `Store.for_team`); raises what the store raises."""
    prompts: list[Subscription] = []
    digests: list[Subscription] = []
    problems: list[str] = []
    flagged: dict[str, str] = {}
    for platform in platforms:
        for team in ("", *sorted(teams)) if platform == "slack" else ("",):
            own = store.for_team(team)
            for channel, spec in (await own.subscriptions(platform)).items():
                try:
                    sub = Subscription.from_json(platform, channel, spec)
                except ValueError as exc:
                    problems.append(f"{_place(platform, team, channel)}: {exc}")
                    continue
                prompts.append(dataclasses.replace(sub, team=team))
            for channel, spec in (await own.subscriptions(digest_space(platform))).items():
                try:
                    sub = Subscription.from_json(platform, channel, spec)
                except ValueError as exc:
                    problems.append(f"{_place(platform, team, channel)} (weekly digest): {exc}")
                    continue
                digests.append(dataclasses.replace(sub, digest=True, team=team))
            flagged.update({_place(platform, team, channel): why
                            for channel, why in (await own.flagged(platform)).items()})
    return FromChat(tuple(prompts), tuple(digests), flagged, tuple(problems))


def _place(platform: str, team: str, channel: str) -> str:
    """A `Subscription.key`, for a channel of `team` on `platform`."""
    return Subscription(platform, channel, dt.time(), "UTC", team=team).key


@dataclass(frozen=True)
class Schedule:
    """The effective schedule: every channel's daily prompt (schedule.yaml merged with chat,
    by channel) and weekly digest, with the flags and what could not be read."""

    prompts: tuple[Subscription, ...] = ()
    digests: tuple[Subscription, ...] = ()
    flagged: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def subscriptions(self) -> list[Subscription]:
        """Everything posted on a schedule: the prompts, then the digests."""
        return [*self.prompts, *self.digests]

    def on(self, platforms: Collection[str]) -> Schedule:
        """Only the channels of these platforms (the ones this server posts to)."""
        return dataclasses.replace(
            self, prompts=tuple(s for s in self.prompts if s.platform in platforms),
            digests=tuple(s for s in self.digests if s.platform in platforms))

    def prompt_of(self, key: str) -> Subscription | None:
        """The channel's daily prompt (its `key`, or `platform:channel` whichever workspace
        it was made in), if it has one."""
        return next((s for s in self.prompts if s.key == key), None) or next(
            (s for s in self.prompts if s.place == key), None)

    def next_runs(self, now: dt.datetime) -> list[tuple[dt.datetime, Subscription]]:
        """Every channel's next prompt, soonest first."""
        runs = [(sub.next_run(now)[1], sub) for sub in self.prompts]
        return sorted(runs, key=lambda run: (run[0], run[1].key))


def effective_schedule(from_git: Sequence[Subscription], chat: FromChat) -> Schedule:
    """schedule.yaml and chat together: a channel's chat subscription replaces its git entry."""
    return Schedule(tuple(merge(from_git, chat.prompts)), chat.digests, chat.flagged,
                    chat.problems)


def with_named_teams(teams: Collection[str], from_git: Sequence[Subscription]) -> set[str]:
    """`teams`, and the workspaces schedule.yaml names (`slack_team`): their flags are read
    too, even before a request from them has been seen."""
    return {*teams, *(s.team for s in from_git if s.team)}


async def read_schedule(store: Store, platforms: Sequence[str],
                        from_git: Sequence[Subscription], teams: Collection[str] = ()) -> Schedule:
    """The effective schedule of `platforms` now (with `teams` and those schedule.yaml
    names, as `read_chat`); raises what the store raises."""
    return effective_schedule(from_git, await read_chat(store, platforms,
                                                        with_named_teams(teams, from_git)))


class GitSchedule:
    """schedule.yaml as last read: parsed again (in a thread) only when the file or the
    playbook ids changed, and the last valid one kept while it is invalid."""

    def __init__(self, folder: Callable[[], Path],
                 playbooks: Callable[[], Sequence[Playbook]]) -> None:
        self._folder = folder
        self._playbooks = playbooks
        self.subscriptions: list[Subscription] = []
        self._problem = ""
        self._seen: tuple[Path, tuple[int, int] | None, tuple[str, ...]] | None = None
        """What the last read saw: folder, (mtime_ns, size), playbook ids."""

    async def read(self) -> list[Subscription]:
        folder = self._folder()
        ids = tuple(p.id for p in self._playbooks())
        try:
            stat = (folder / SCHEDULE).stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        seen = (folder, stamp, ids)
        if seen == self._seen:
            return self.subscriptions
        try:
            self.subscriptions = await asyncio.to_thread(load_schedule, folder, ids)
            self._problem = ""
        except PlaybookErrors as exc:
            problem = str(exc)
            if problem != self._problem:
                log.error("prompts: schedule.yaml is invalid; keeping the last valid one:\n%s",
                          problem)
            self._problem = problem
        self._seen = seen
        return self.subscriptions
