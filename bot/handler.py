"""The core: one `Message` in, the replies to send out.

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
from bot.language import foreign_language
from bot.library import PlaybookSet
from bot.messages import Message, Reply
from bot.runner_up import runner_up
from bot.store import Store, StoreError

log = logging.getLogger("touchpoint.handler")

T = TypeVar("T")

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
        self._commands: dict[str, Callable[[Message, str], Awaitable[list[Reply]]]] = {
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

    def is_admin(self, msg: Message) -> bool:
        """Listed in TOUCHPOINT_ADMINS; only they reload playbooks, read stats, and may
        subscribe a channel they are not a member of."""
        return self.settings.admins.allows(msg.platform, msg.user)

    async def handle(self, msg: Message) -> list[Reply]:
        started = time.perf_counter()
        failed = True
        try:
            answers = await self._dispatch(msg)
            failed = False
            return answers
        finally:
            self.observer.handled(msg.kind, time.perf_counter() - started, failed)

    async def _dispatch(self, msg: Message) -> list[Reply]:
        if msg.id and not await self._first_time(f"event:{msg.platform}:{msg.id}",
                                                 self.settings.event_ttl):
            return []
        if msg.kind == "channel":
            return await self._nudge(msg)
        if msg.kind == "action":
            return await self._action(msg)
        if msg.kind == "shortcut":
            text = " ".join(msg.text.split())
            if not text:
                return [replies.notice("That message has no text I can read, so I can't "
                                       "find a playbook for it.")]
            return await self._guide(msg, text)
        if msg.kind == "call_ended":
            return await self._call_ended(msg)
        if msg.kind == "added":
            await self._count("added")
            await self._safely(self.store.unflag(msg.platform, msg.channel), None)
            return [replies.welcome_reply(msg.platform)]
        return await self._command(msg)

    async def _command(self, msg: Message) -> list[Reply]:
        text = " ".join(msg.text.split())
        verb, _, rest = text.partition(" ")
        command = self._commands.get(verb.lower())
        if command is not None and (rest == "" or verb.lower() in WITH_ARGUMENTS):
            return await command(msg, rest)
        return await self._guide(msg, text)

    async def _guide(self, msg: Message, text: str) -> list[Reply]:
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
            await self._count(analytics.UNMATCHED, week)
            ttl = analytics.question_ttl(now, self.settings.questions_days)
            if ttl > 0:
                question = analytics.scrub_question(text)
                await self._safely(self.store.add_question(week, question,
                                                           analytics.QUESTIONS_KEPT, ttl), None)
            return [
                replies.no_match_reply(
                    text, result, dict(playbooks.by_id), msg.platform,
                    ephemeral=ephemeral, in_thread=in_thread,
                )
            ]
        await self._count(f"guide:{result.best.playbook}")
        playbook = playbooks.by_id[result.best.playbook]
        second = runner_up(result, playbooks.by_id)
        return [replies.guidance_reply(playbook, result.best, ephemeral=ephemeral,
                                       in_thread=in_thread, explain=self.settings.explain,
                                       question=text,
                                       runner_up=playbooks.by_id[second.playbook]
                                       if second else None)]

    async def _nudge(self, msg: Message) -> list[Reply]:
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
        await self._count(f"nudge:{playbook_id}")
        return [replies.nudge_reply(playbooks.by_id[playbook_id])]

    async def _action(self, msg: Message) -> list[Reply]:
        if msg.text in ("mute", "unmute"):
            return await (self._mute if msg.text == "mute" else self._unmute)(msg, "")
        if msg.text == feedback.SUBMIT:
            return await self._correction(msg)
        shown, question = feedback.read_button(msg.value) if msg.text == "not_helpful" \
            else (msg.value, "")
        playbook = self._playbooks.by_id.get(shown)
        if playbook is None:
            return [replies.notice("That playbook is no longer available.")]
        if msg.text == "helpful":
            await self._count(f"helpful:{playbook.id}")
            return [replies.notice("Glad it helped.")]
        if msg.text == "not_helpful":
            await self._count(f"not_helpful:{playbook.id}")
            return [feedback.form_reply(self._playbooks.playbooks, playbook, question)]
        if msg.text == "show":
            return [replies.playbook_reply(playbook, in_thread=bool(msg.thread))]
        if msg.text == "share":
            await self._count(f"share:{playbook.id}")
            return [replies.guidance_reply(playbook, None, ephemeral=False, in_thread=False)]
        return [replies.notice("That button is no longer supported.")]

    async def _correction(self, msg: Message) -> list[Reply]:
        """An answered "Not helpful" form: kept for managers and `touchpoint suggest`."""
        correction = feedback.read_submission(msg.value)
        if correction is None:
            return [replies.notice("That form could not be read; nothing was saved.")]
        known = self._playbooks.by_id
        if correction.chosen != feedback.NONE and correction.chosen not in known:
            return [replies.notice("That playbook is no longer available; nothing was saved.")]
        await self._count(f"correction:{correction.shown}")
        saved = await self._safely(feedback.record(self.store, correction, self.clock(),
                                                   self.settings.questions_days), None)
        return [replies.notice(feedback.THANKS if saved is not None else UNSAVED)]

    async def _call_ended(self, msg: Message) -> list[Reply]:
        playbooks = self._playbooks
        checklist = playbooks.by_id.get(calls.CHECKLIST)
        best = calls.best_match(playbooks.matcher, msg.text.split("\n"))
        matched = playbooks.by_id.get(best.playbook) if best else None
        await self._count("call_ended")
        return [replies.call_ended_reply(checklist, matched, msg.value, msg.user)]

    async def _help(self, msg: Message, _: str) -> list[Reply]:
        return [replies.help_reply(msg.platform)]

    async def _list(self, msg: Message, _: str) -> list[Reply]:
        return [replies.list_reply(self._playbooks.playbooks, msg.platform)]

    async def _show(self, msg: Message, name: str) -> list[Reply]:
        name = name.strip().lower()
        if not name:
            return await self._list(msg, name)
        playbook = self._playbooks.by_id.get(name)
        if playbook is None:
            known = list(self._playbooks.by_id)
            return [replies.unknown_playbook_reply(name, known, msg.platform)]
        return [replies.playbook_reply(playbook, ephemeral=msg.kind == "command",
                                       in_thread=msg.kind != "command")]

    async def _reload(self, msg: Message, _: str) -> list[Reply]:
        if not self.is_admin(msg):
            return [admin.not_admin_reply("reload playbooks")]
        if self.operations is None:
            return [replies.notice("Reloading is not available here: it is part of "
                                   "touchpoint serve.")]
        outcome = await self.operations.reload(_person(msg))
        return [admin.reload_reply(outcome)]

    async def _about(self, msg: Message, _: str) -> list[Reply]:
        """What is live; where it comes from (paths, the repository) and what went wrong with
        the latest change only for admins, since anyone in the workspace may ask."""
        live = self._playbooks
        if not self.is_admin(msg):
            return [admin.about_reply(len(live.playbooks), live.version, [])]
        lines = self.operations.about() if self.operations is not None else []
        return [admin.about_reply(len(live.playbooks), live.version, lines)]

    async def _stats(self, msg: Message, _: str) -> list[Reply]:
        if not self.is_admin(msg):
            return [admin.not_admin_reply("read usage statistics")]
        weeks = analytics.recent_weeks(self.clock(), self.settings.stats_weeks)
        ids = list(self._playbooks.by_id)
        found = await self._safely(analytics.read_stats(self.store, weeks, ids), None)
        if found is None:
            return [replies.notice("The statistics are unavailable just now (the store is "
                                   "down); please try again in a minute.")]
        return [admin.stats_reply(found)]

    async def _nudges(self, msg: Message, args: str) -> list[Reply]:
        found = await self._safely(channels.switch_nudges(
            self.store, msg, args.strip().lower(), self.settings.admins,
            self.settings.nudge_switchers), None)
        return [found or replies.notice(UNSAVED)]

    async def _digest(self, msg: Message, args: str) -> list[Reply]:
        found = await self._safely(channels.digest(self.store, msg, args, self.settings.admins,
                                                   self.clock()), None)
        return [found or replies.notice(UNSAVED)]

    async def _subscribe(self, msg: Message, args: str) -> list[Reply]:
        found = await self._safely(subscriptions.subscribe(self.store, msg, args, self.clock()),
                                   None)
        return [found or replies.notice(UNSAVED)]

    async def _unsubscribe(self, msg: Message, _: str) -> list[Reply]:
        found = await self._safely(subscriptions.unsubscribe(self.store, msg), None)
        return [found or replies.notice(UNSAVED)]

    async def _mute(self, msg: Message, _: str) -> list[Reply]:
        if not await self._safely(self._set_muted(msg, True), False):
            return [replies.notice(UNSAVED)]
        return [replies.notice("Muted: I won't nudge you in channels. Undo it with unmute.")]

    async def _unmute(self, msg: Message, _: str) -> list[Reply]:
        if not await self._safely(self._set_muted(msg, False), False):
            return [replies.notice(UNSAVED)]
        return [replies.notice("Unmuted: I may nudge you again after a customer moment.")]

    async def _set_muted(self, msg: Message, muted: bool) -> bool:
        await self.store.set_muted(_person(msg), muted)
        return True

    async def _first_time(self, key: str, ttl: float) -> bool:
        return await self._safely(self.store.first_time(key, ttl), True)

    async def count(self, counter: str) -> None:
        """Count something the core did not see happen (a call nobody could be found for)."""
        await self._count(counter)

    async def _count(self, counter: str, week: str = "") -> None:
        """Count all-time and in `week` (this ISO week unless given), in one store call."""
        self.observer.counted(counter)
        week = week or analytics.iso_week(self.clock())
        await self._safely(self.store.incr_counts(week, counter), (0, 0))

    async def _safely(self, call: Awaitable[T], fallback: T) -> T:
        """Guidance must not depend on the store being up: degrade, and say so in the log."""
        try:
            return await call
        except StoreError as exc:
            log.warning("store unavailable (%s: %s); continuing without it",
                        type(exc).__name__, exc)
            return fallback


def _person(msg: Message) -> str:
    return f"{msg.platform}:{msg.user}"
