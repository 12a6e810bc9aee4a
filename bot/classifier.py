"""What the examples teach: is this a customer moment, and which one.

Two naive-Bayes models are fitted once at load over word stems, stem pairs and
concepts (bot/lexicon.py). The gate weighs every playbook example together
against the background chatter (`background.yaml`): how much more a message
reads like a customer moment than like office talk. The classifier weighs each
playbook's examples against the others. Both keep only the counts of terms
seen in training, in a table keyed by term, so scoring touches the message's
own terms and the few labels each points to, whatever the size of the set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.postings import Pairs, Postings, Terms
from bot.similarity import Features

BACKGROUND = -1
"""The label of chatter that is no customer touchpoint."""


@dataclass(frozen=True)
class Reading:
    """How one message reads to the models."""

    touch: float | None
    """Log-odds that the message is a customer moment rather than chatter;
    None when no background chatter was given to compare with."""
    labels: dict[int, float]
    """Log-likelihood of the message under each playbook that shares a term with it."""
    terms: dict[int, list[tuple[str, float]]]
    """The message's terms that point to each playbook, strongest first."""


MAX_LABELS_PER_TERM = 32
"""A term shared by more labels than this says little about any one of them;
keeping only its strongest labels bounds the work per message term."""


class _Counts:
    """Smoothed term frequencies per label, stored sparsely."""

    def __init__(self, per_label: dict[int, Counter[str]], alpha: float, terms: Terms) -> None:
        vocabulary = len({t for counts in per_label.values() for t in counts}) or 1
        self.base: dict[int, float] = {}
        pairs = Pairs(terms)
        for label, counts in sorted(per_label.items()):
            self.base[label] = math.log(alpha / (sum(counts.values()) + alpha * vocabulary))
            for term, n in counts.items():
                pairs.add(term, label, math.log((n + alpha) / alpha))
        self.postings = Postings.of(pairs, MAX_LABELS_PER_TERM)
        """(label, gain) for each term seen in training; pruning only shortens the
        lists, so `term in postings` says whether a term was seen."""


class Classifier:
    def __init__(self, docs: Iterable[tuple[int, Features]], alpha: float = 0.1,
                 terms: Terms | None = None) -> None:
        """Reads `docs` once, as they come: only each label's terms are kept."""
        terms = {} if terms is None else terms
        labels: dict[int, Counter[str]] = {}
        sides: dict[int, Counter[str]] = {}
        for label, feats in docs:
            if label != BACKGROUND:
                labels.setdefault(label, Counter()).update(feats.keys())
            sides.setdefault(0 if label != BACKGROUND else BACKGROUND,
                             Counter()).update(feats.keys())
        self._labels = _Counts(labels, alpha, terms)
        del labels
        self._gate = _Counts(sides, 0.5, terms)
        self._gated = BACKGROUND in self._gate.base and 0 in self._gate.base
        """Both sides to weigh, playbook examples and background chatter, were given."""

    def read(self, feats: Features) -> Reading:
        gate = self._gate
        touch: float | None = None
        if self._gated:
            known = [t for t in feats if t in gate.postings]
            sides = {0: gate.base[0] * len(known), BACKGROUND: gate.base[BACKGROUND] * len(known)}
            for term in known:
                for label, gain in gate.postings.get(term):
                    sides[label] += gain
            touch = sides[0] - sides[BACKGROUND]
        counts = self._labels
        seen = [t for t in feats if t in counts.postings]
        bonus: dict[int, float] = {}
        terms: dict[int, list[tuple[str, float]]] = {}
        for term in seen:
            for label, gain in counts.postings.get(term):
                bonus[label] = bonus.get(label, 0.0) + gain
                terms.setdefault(label, []).append((term, gain))
        labels = {label: counts.base[label] * len(seen) + b for label, b in bonus.items()}
        for found in terms.values():
            found.sort(key=lambda tw: (-tw[1], tw[0]))
        return Reading(touch, labels, terms)
