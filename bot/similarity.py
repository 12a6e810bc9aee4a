"""Nearest examples: how the playbooks' own examples teach the matcher.

People describe a situation without its obvious word ("their quote is way above
the other vendor"). Each example phrase becomes a TF-IDF vector over word stems
and stem pairs, kept in an inverted index, so a message is compared only with
the examples that share a term with it. A manager fixes a miss by adding an
example to the YAML; nothing is trained outside the repository.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.lexicon import concepts
from bot.postings import Pairs, Postings, Terms
from bot.text import STOPWORDS, clean_plain

Features = Counter[str]


def features(stems: Sequence[str]) -> Features:
    """Content stems, adjacent content-stem pairs and the concepts of the stems."""
    content = [s for s in stems if s not in STOPWORDS and not s.isdigit()]
    out: Features = Counter(content)
    out.update(f"{a} {b}" for a, b in zip(content, content[1:], strict=False))
    for word in content:
        out.update(concepts(word))
    return out


def wording(body: str) -> Features:
    """The words as written (after `plain`), and adjacent pairs of them.

    Unlike `features`, nothing is stemmed and no stop word is dropped: "not", "we",
    "how do" and "booked for" are what tell a complaint from praise, a question
    from a report and a plan from a call that happened.
    """
    words = [w for w in clean_plain(body).split() if len(w) > 1]
    out: Features = Counter(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return out


MAX_DOCS_PER_TERM = 64
"""Only a term's strongest examples are kept: a term in hundreds of examples is
close to a stop word for similarity, and the cap bounds the work per term."""


@dataclass(frozen=True)
class Neighbour:
    """The closest example of one label, and how close it is (cosine, 0..1)."""

    label: int
    example: int
    similarity: float


class ExampleIndex:
    """An inverted index of labelled example texts, queried by cosine similarity."""

    def __init__(self, examples: Iterable[tuple[int, Features]],
                 terms: Terms | None = None) -> None:
        """Reads `examples` once, as they come, keeping each by its term numbers."""
        self._terms: Terms = {} if terms is None else terms
        self.labels: list[int] = []
        self._copies: dict[bytes, int] = {}
        """Each example's exact features: pruning may drop a copy's own terms, but a
        message that says exactly what an example says is that example."""
        numbers, counts, ends = array("I"), array("I"), array("I")
        for label, feats in examples:
            for term, n in feats.items():
                numbers.append(self._terms.setdefault(term, len(self._terms)))
                counts.append(n)
            ends.append(len(numbers))
            key = self._key(feats)
            assert key is not None
            self._copies.setdefault(key, len(self.labels))
            self.labels.append(label)
        df = array("I", bytes(4 * len(self._terms)))
        for at in numbers:
            df[at] += 1
        total = len(self.labels)
        self._unknown_idf = math.log(total + 1) + 1.0
        self._idf = array("d", [self._unknown_idf]) * len(self._terms)
        """By term number; a term only other models know reads as unknown here."""
        for at, n in enumerate(df):
            if n:
                self._idf[at] = math.log((total + 1) / (n + 1)) + 1.0
        pairs = Pairs(self._terms)
        start = 0
        for doc, end in enumerate(ends):
            vector = [(at, (1.0 + math.log(n)) * self._idf[at])
                      for at, n in zip(numbers[start:end], counts[start:end], strict=True)]
            norm = math.sqrt(sum(w * w for _, w in vector)) or 1.0
            for at, w in vector:
                pairs.put(at, doc, w / norm)
            start = end
        self._postings = Postings.of(pairs, MAX_DOCS_PER_TERM)

    def _weigh(self, feats: Features) -> dict[str, float]:
        terms, idf, unknown = self._terms, self._idf, self._unknown_idf
        vector = {}
        for term, count in feats.items():
            at = terms.get(term)
            vector[term] = (1.0 + math.log(count)) * (
                idf[at] if at is not None and at < len(idf) else unknown)
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return {term: w / norm for term, w in vector.items()}

    def _key(self, feats: Features) -> bytes | None:
        """The same bytes for the same features, whatever their order: each term's
        number as many times as it occurs. None for a term no model knows, so no
        example has."""
        numbers = []
        for term, n in feats.items():
            at = self._terms.get(term)
            if at is None:
                return None
            numbers.extend([at] * n)
        return array("I", sorted(numbers)).tobytes()

    def nearest(self, feats: Features) -> dict[int, Neighbour]:
        """For every label with an example sharing a term: its closest example."""
        scores: dict[int, float] = {}
        for term, weight in self._weigh(feats).items():
            for doc, doc_weight in self._postings.get(term):
                scores[doc] = scores.get(doc, 0.0) + weight * doc_weight
        key = self._key(feats)
        copy = self._copies.get(key) if key is not None else None
        if copy is not None:
            scores[copy] = 1.0
        best: dict[int, tuple[float, int]] = {}
        labels = self.labels
        for doc, score in scores.items():
            label = labels[doc]
            current = best.get(label)
            if current is None or score > current[0]:
                best[label] = (score, doc)
        return {label: Neighbour(label, doc, min(score, 1.0))
                for label, (score, doc) in best.items()}
