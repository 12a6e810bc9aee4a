"""The core: one event in, the replies to send out.

Platform-neutral and free of I/O besides the `Store` it is given, so Slack,
Teams, the console and the tests all drive the same code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot import admin, analytics, calls, channels, feedback, replies, subscriptions
from bot.events import BotAdded, ButtonPressed, CallEnded, Event, Said, ShortcutAsked
from bot.language import foreign_language
from bot.messages import Reply
from bot.playbook_set import PlaybookSet
from bot.runner_up import runner_up
from bot.store import Store, StoreError
from bot.usage import Counted, UsageEvent

log = logging.getLogger("touchpoint.handler")

T = TypeVar("T")
E = TypeVar("E", bound=Event)
Answer = Callable[[Event], Awaitable[list[Reply]]]

WITH_ARGUMENTS = frozenset({"show", "subscribe", "nudges", "digest"})
"""Commands that take words after them; any other command word followed by more is guidance."""

UNSAVED = "I couldn't save that just now; please try again in a minute."


@dataclass(frozen=True)
class HandlerSettings:
    nudge_cooldown: float = 6 * 3600
    """Seconds before the same playbook may nudge the same channel again."""
    event_ttl: float = 24 * 3600
    """How long a delivery id is remembered, to answer a platform's retry once."""
    admins: admin.Admins = field(default_factory=admin.Admins)
    """Who may reload playbooks and read statistics (`TOUCHPOINT_ADMINS`)."""
    stats_weeks: int = 4
    """Weeks `/touchpoint stats` sums up."""
    questions_days: float = 90.0
    """Days an unanswered question, and an answer to "Not helpful", is kept at most
    (`TOUCHPOINT_QUESTIONS_DAYS`)."""
    nudge_switchers: admin.Admins = field(default_factory=admin.Admins)
    """Who may switch a channel's nudges off and on (`TOUCHPOINT_NUDGE_SWITCHERS`), besides
    the admins; empty: anyone in the channel."""
    explain: bool = False
    """Answers carry the matcher's full evidence, not only the one line people read
    (`touchpoint console --explain`)."""


class Handler:
    def __init__(
        self, playbooks: PlaybookSet, store: Store, settings: HandlerSettings | None = None,
        *, observer: analytics.Observer | None = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self._playbooks = playbooks
        self.store = store
        self.settings = settings or HandlerSettings()
        self.observer: analytics.Observer = observer or analytics.NoObserver()
        self.clock = clock
        """Wall-clock time, for the ISO week analytics count in."""
        self.operations: admin.Operations | None = None
        """Reloading and `about`, supplied by the server; None in the console and tests."""
        self._answers: dict[type[Event], Answer] = dict([
            _answer(Said, self._said),
            _answer(ButtonPressed, self._pressed),
            _answer(ShortcutAsked, self._shortcut),
            _answer(CallEnded, self._call_ended),
            _answer(BotAdded, self._added),
        ])
        """Which method answers which kind of event."""
        self._commands: dict[str, Callable[[Said, str], Awaitable[list[Reply]]]] = {
            "": self._help,
            "help": self._help,
            "list": self._list,
            "show": self._show,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "mute": self._mute,
            "unmute": self._unmute,
            "reload": self._reload,
            "about": self._about,
            "stats": self._stats,
            "nudges": self._nudges,
            "digest": self._digest,
        }

    @property
    def playbooks(self) -> PlaybookSet:
        return self._playbooks

    def swap(self, playbooks: PlaybookSet) -> None:
        """Serve a new, already validated set from the next message on."""
        self._playbooks = playbooks

    def is_admin(self, event: Event) -> bool:
        """Listed in TOUCHPOINT_ADMINS; only they reload playbooks, read stats, and may
        subscribe a channel they are not a member of."""
        return self.settings.admins.allows(event.platform, event.user)

    async def handle(self, event: Event) -> list[Reply]:
        answer = self._answers.get(type(event))
        if answer is None:
            raise TypeError(f"the core has no answer for a {type(event).__name__}")
        started = time.perf_counter()
        failed = True
        try:
            answers = await self._dispatch(event, answer)
            failed = False
            return answers
        finally:
            self.observer.handled(event.kind, time.perf_counter() - started, failed)

    async def _dispatch(self, event: Event, answer: Answer) -> list[Reply]:
        if event.id and not await self._first_time(f"event:{event.platform}:{event.id}",
                                                   self.settings.event_ttl):
            return []
        return await answer(event)

    async def _said(self, msg: Said) -> list[Reply]:
        if msg.via == "channel":
            return await self._nudge(msg)
        return await self._command(msg)

    async def _shortcut(self, asked: ShortcutAsked) -> list[Reply]:
        text = " ".join(asked.text.split())
        if not text:
            return [replies.notice("That message has no text I can read, so I can't "
                                   "find a playbook for it.")]
        return await self._guide(asked, text)

    async def _added(self, added: BotAdded) -> list[Reply]:
        await self._count(added, UsageEvent(Counted.ADDED))
        await self._safely(self._store(added).unflag(added.platform, added.channel), None)
        return [replies.welcome_reply(added.platform)]

    async def _command(self, msg: Said) -> list[Reply]:
        text = " ".join(msg.text.split())
        verb, _, rest = text.partition(" ")
        command = self._commands.get(verb.lower())
        if command is not None and (rest == "" or verb.lower() in WITH_ARGUMENTS):
            return await command(msg, rest)
        return await self._guide(msg, text)

    async def _guide(self, msg: Said | ShortcutAsked, text: str) -> list[Reply]:
        ephemeral = msg.kind in ("command", "shortcut")
        in_thread = not ephemeral
        language = foreign_language(text)
        if language is not None:
            return [replies.not_english_reply(language, msg.platform, ephemeral=ephemeral,
                                              in_thread=in_thread)]
        playbooks = self._playbooks
        result = playbooks.matcher.match(text, "guide")
        if result.best is None:
            now = self.clock()
            week = analytics.iso_week(now)
            await self._count(msg, UsageEvent(Counted.UNMATCHED), week)
            ttl = analytics.question_ttl(now, self.settings.questions_days)
            if ttl > 0:
                question = analytics.scrub_question(text)
                await self._safely(self._store(msg).add_question(
                    week, question, analytics.QUESTIONS_KEPT, ttl), None)
            return [
                replies.no_match_reply(
                    text, result, dict(playbooks.by_id), msg.platform,
                    ephemeral=ephemeral, in_thread=in_thread,
                )
            ]
        await self._count(msg, UsageEvent(Counted.GUIDE, result.best.playbook))
        playbook = playbooks.by_id[result.best.playbook]
        second = runner_up(result, playbooks.by_id)
        return [replies.guidance_reply(playbook, result.best, ephemeral=ephemeral,
                                       in_thread=in_thread, explain=self.settings.explain,
                                       question=text,
                                       runner_up=playbooks.by_id[second.playbook]
                                       if second else None)]

    async def _nudge(self, msg: Said) -> list[Reply]:
        if await self._safely(self.store.is_muted(_person(msg)), True):
            return []  # muted, or no telling: a nudge to someone who muted us is worse
        if not await self._safely(self.store.nudges_allowed(msg.platform, msg.channel), False):
            return []  # switched off here, or no telling
        if foreign_language(msg.text) is not None:
            return []
        playbooks = self._playbooks
        result = playbooks.matcher.match(msg.text, "nudge")
        if result.best is None:
            return []
        playbook_id = result.best.playbook
        key = f"cooldown:{msg.platform}:{msg.channel}:{playbook_id}"
        if not await self._first_time(key, self.settings.nudge_cooldown):
            return []
        await self._count(msg, UsageEvent(Counted.NUDGE, playbook_id))
        return [replies.nudge_reply(playbooks.by_id[playbook_id])]

    async def _pressed(self, msg: ButtonPressed) -> list[Reply]:
        if msg.action in ("mute", "unmute"):
            return await (self._mute if msg.action == "mute" else self._unmute)(msg, "")
        if msg.action == feedback.SUBMIT:
            return await self._correction(msg)
        shown, question = feedback.read_button(msg.value) if msg.action == "not_helpful" \
            else (msg.value, "")
        playbook = self._playbooks.by_id.get(shown)
        if playbook is None:
            return [replies.notice("That playbook is no longer available.")]
        if msg.action == "helpful":
            await self._count(msg, UsageEvent(Counted.HELPFUL, playbook.id))
            return [replies.notice("Glad it helped.")]
        if msg.action == "not_helpful":
            await self._count(msg, UsageEvent(Counted.NOT_HELPFUL, playbook.id))
            return [feedback.form_reply(self._playbooks.playbooks, playbook, question)]
        if msg.action == "show":
            return [replies.playbook_reply(playbook, in_thread=bool(msg.thread))]
        if msg.action == "share":
            await self._count(msg, UsageEvent(Counted.SHARE, playbook.id))
            return [replies.guidance_reply(playbook, None, ephemeral=False, in_thread=False)]
        return [replies.notice("That button is no longer supported.")]

    async def _correction(self, msg: ButtonPressed) -> list[Reply]:
        """An answered "Not helpful" form: kept for managers and `touchpoint suggest`."""
        correction = feedback.read_submission(msg.value)
        if correction is None:
            return [replies.notice("That form could not be read; nothing was saved.")]
        known = self._playbooks.by_id
        if correction.chosen != feedback.NONE and correction.chosen not in known:
            return [replies.notice("That playbook is no longer available; nothing was saved.")]
        await self._count(msg, UsageEvent(Counted.CORRECTION, correction.shown))
        saved = await self._safely(feedback.record(self._store(msg), correction, self.clock(),
                                                   self.settings.questions_days), None)
        return [replies.notice(feedback.THANKS if saved is not None else UNSAVED)]

    async def _call_ended(self, call: CallEnded) -> list[Reply]:
        playbooks = self._playbooks
        checklist = playbooks.by_id.get(calls.CHECKLIST)
        lines = [line for text in call.texts for line in text.split("\n")]
        best = calls.best_match(playbooks.matcher, lines)
        matched = playbooks.by_id.get(best.playbook) if best else None
        await self._count(call, UsageEvent(Counted.CALL_ENDED))
        return [replies.call_ended_reply(checklist, matched, call.customer, call.user)]

    async def _help(self, msg: Said, _: str) -> list[Reply]:
        return [replies.help_reply(msg.platform)]

    async def _list(self, msg: Said, _: str) -> list[Reply]:
        return [replies.list_reply(self._playbooks.playbooks, msg.platform)]

    async def _show(self, msg: Said, name: str) -> list[Reply]:
        name = name.strip().lower()
        if not name:
            return await self._list(msg, name)
        playbook = self._playbooks.by_id.get(name)
        if playbook is None:
            known = list(self._playbooks.by_id)
            return [replies.unknown_playbook_reply(name, known, msg.platform)]
        return [replies.playbook_reply(playbook, ephemeral=msg.kind == "command",
                                       in_thread=msg.kind != "command")]

    async def _reload(self, msg: Said, _: str) -> list[Reply]:
        if not self.is_admin(msg):
            return [admin.not_admin_reply("reload playbooks")]
        if self.operations is None:
            return [replies.notice("Reloading is not available here: it is part of "
                                   "touchpoint serve.")]
        outcome = await self.operations.reload(_person(msg))
        return [admin.reload_reply(outcome)]

    async def _about(self, msg: Said, _: str) -> list[Reply]:
        """What is live; where it comes from (paths, the repository) and what went wrong with
        the latest change only for admins, since anyone in the workspace may ask."""
        live = self._playbooks
        if not self.is_admin(msg):
            return [admin.about_reply(len(live.playbooks), live.version, [])]
        lines = self.operations.about() if self.operations is not None else []
        return [admin.about_reply(len(live.playbooks), live.version, lines)]

    async def _stats(self, msg: Said, _: str) -> list[Reply]:
        if not self.is_admin(msg):
            return [admin.not_admin_reply("read usage statistics")]
        weeks = analytics.recent_weeks(self.clock(), self.settings.stats_weeks)
        ids = list(self._playbooks.by_id)
        found = await self._safely(analytics.read_stats(self._store(msg), weeks, ids), None)
        if found is None:
            return [replies.notice("The statistics are unavailable just now (the store is "
                                   "down); please try again in a minute.")]
        return [admin.stats_reply(found)]

    async def _nudges(self, msg: Said, args: str) -> list[Reply]:
        found = await self._safely(channels.switch_nudges(
            self.store, msg, args.strip().lower(), self.settings.admins,
            self.settings.nudge_switchers), None)
        return [found or replies.notice(UNSAVED)]

    async def _digest(self, msg: Said, args: str) -> list[Reply]:
        found = await self._safely(channels.digest(self._store(msg), msg, args,
                                                   self.settings.admins, self.clock()), None)
        return [found or replies.notice(UNSAVED)]

    async def _subscribe(self, msg: Said, args: str) -> list[Reply]:
        found = await self._safely(subscriptions.subscribe(self._store(msg), msg, args,
                                                           self.clock()), None)
        return [found or replies.notice(UNSAVED)]

    async def _unsubscribe(self, msg: Said, _: str) -> list[Reply]:
        found = await self._safely(subscriptions.unsubscribe(self._store(msg), msg), None)
        return [found or replies.notice(UNSAVED)]

    async def _mute(self, msg: Event, _: str) -> list[Reply]:
        if not await self._safely(self._set_muted(msg, True), False):
            return [replies.notice(UNSAVED)]
        return [replies.notice("Muted: I won't nudge you in channels. Undo it with unmute.")]

    async def _unmute(self, msg: Event, _: str) -> list[Reply]:
        if not await self._safely(self._set_muted(msg, False), False):
            return [replies.notice(UNSAVED)]
        return [replies.notice("Unmuted: I may nudge you again after a customer moment.")]

    async def _set_muted(self, msg: Event, muted: bool) -> bool:
        await self.store.set_muted(_person(msg), muted)
        return True

    async def _first_time(self, key: str, ttl: float) -> bool:
        return await self._safely(self.store.first_time(key, ttl), True)

    async def count(self, usage: UsageEvent, team: str = "") -> None:
        """Count something the core did not see happen (a call nobody could be found for),
        for the Slack workspace `team` when it is known."""
        await self._count_in(team, usage)

    def _store(self, event: Event) -> Store:
        """The store as the event's workspace sees it: its own counts and subscriptions."""
        return self.store.for_team(event.team)

    async def _count(self, event: Event, usage: UsageEvent, week: str = "") -> None:
        await self._count_in(event.team, usage, week)

    async def _count_in(self, team: str, usage: UsageEvent, week: str = "") -> None:
        """Count all-time and in `week` (this ISO week unless given), in one store call,
        in the workspace `team`."""
        self.observer.counted(usage)
        week = week or analytics.iso_week(self.clock())
        await self._safely(self.store.for_team(team).incr_counts(week, usage.key), (0, 0))

    async def _safely(self, call: Awaitable[T], fallback: T) -> T:
        """Guidance must not depend on the store being up: degrade, and say so in the log."""
        try:
            return await call
        except StoreError as exc:
            log.warning("store unavailable (%s: %s); continuing without it",
                        type(exc).__name__, exc)
            return fallback


def _person(event: Event) -> str:
    return f"{event.platform}:{event.user}"


def _answer(kind: type[E],
            answer: Callable[[E], Awaitable[list[Reply]]]) -> tuple[type[Event], Answer]:
    """A row of the dispatch table: `answer` is only ever called with a `kind`."""
    async def checked(event: Event) -> list[Reply]:
        assert isinstance(event, kind)
        return await answer(event)
    return kind, checked
