"""Playbook regular expressions, indexed so a message runs only the few it could match.

Each expression is keyed by the rarest three-character piece of text that every
match must contain (read from the parsed pattern); a message runs only the
expressions whose key occurs in it. An expression with no such piece runs on
every message, so `touchpoint check` users are better off keeping a literal
word in each one. Every search is also cut off after `TIMEOUT` seconds, so a
pattern with catastrophic backtracking costs one message a moment, not the
process its life; and one cut off `STRIKES` times is switched off until the
playbooks are loaded again, so that a stream of such messages cannot keep the
process busy with it: everything else it does waits while a search runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import regex

from bot.playbooks import Trigger
from bot.regex_bounds import required_grams
from bot.text import plain

TIMEOUT = 0.05
"""Seconds one expression may run on one message before it counts as no match."""
STRIKES = 3
"""Cut-offs after which an expression is switched off until the next load."""

log = logging.getLogger("touchpoint.matcher")


@dataclass(frozen=True, slots=True)
class _Entry:
    playbook: int
    pattern: Any
    trigger: Trigger
    owner: str
    """The playbook's id, for the log."""


class RegexIndex:
    def __init__(self) -> None:
        self._pending: list[_Entry] = []
        self._by_gram: dict[str, list[_Entry]] = {}
        self._always: list[_Entry] = []
        self._strikes: dict[int, int] = {}
        self._off: dict[int, _Entry] = {}
        """The expressions switched off, by `id`: their strikes reached `STRIKES`."""

    def add(self, playbook: int, trigger: Trigger, owner: str = "") -> None:
        assert trigger.regex is not None
        compiled = regex.compile(trigger.regex, regex.IGNORECASE)
        self._pending.append(_Entry(playbook, compiled, trigger, owner))

    @property
    def switched_off(self) -> list[tuple[str, str]]:
        """(playbook id, expression) for each expression switched off for running too long."""
        return sorted((e.owner, e.trigger.text) for e in self._off.values())

    def build(self) -> None:
        """Key each expression by the rarest piece of text it cannot match without."""
        options = [required_grams(entry.trigger.text) for entry in self._pending]
        counts: dict[str, int] = {}
        for grams in options:
            for gram in grams:
                counts[gram] = counts.get(gram, 0) + 1
        for entry, grams in zip(self._pending, options, strict=True):
            if not grams:
                self._always.append(entry)
                continue
            key = min(grams, key=lambda g: (counts[g], g))
            self._by_gram.setdefault(key, []).append(entry)
        self._pending = []

    @property
    def counts(self) -> tuple[int, int]:
        """(indexed, always run): the second should stay near zero."""
        return sum(len(entries) for entries in self._by_gram.values()), len(self._always)

    def candidates(self, text: str) -> int:
        """How many expressions a message would run: the index's selectivity."""
        return len(self._candidates(plain(text)))

    def search(self, body: str) -> list[tuple[int, Trigger]]:
        """(playbook, trigger) for every expression that matches the message.

        `body` is the message through `bot.text.plain`, which the matcher has already.
        """
        if not self._by_gram and not self._always:
            return []
        found = []
        for entry in self._candidates(body):
            try:
                if entry.pattern.search(body, timeout=TIMEOUT):
                    found.append((entry.playbook, entry.trigger))
            except TimeoutError:
                self._strike(entry, len(body))
        return found

    def _strike(self, entry: _Entry, length: int) -> None:
        strikes = self._strikes[id(entry)] = self._strikes.get(id(entry), 0) + 1
        if strikes < STRIKES:
            log.warning("playbook %s: regex %r ran past %g s on a message of %d characters "
                        "and counts as no match (%d of %d before it is switched off)",
                        entry.owner, entry.trigger.text, TIMEOUT, length, strikes, STRIKES)
            return
        self._off[id(entry)] = entry
        log.error("playbook %s: regex %r switched off until the playbooks are loaded again: "
                  "it ran past %g s on %d messages (catastrophic backtracking?); rewrite it "
                  "and check it with `touchpoint check`", entry.owner, entry.trigger.text,
                  TIMEOUT, strikes)

    def _candidates(self, body: str) -> list[_Entry]:
        # build() puts each expression under one key only (or in _always), so the
        # lists concatenated here share no entry.
        grams = {body[i : i + 3] for i in range(len(body) - 2)}
        found = list(self._always)
        for gram in grams.intersection(self._by_gram):
            found.extend(self._by_gram[gram])
        return sorted((e for e in found if id(e) not in self._off),
                      key=lambda e: (e.playbook, e.trigger.text))

