"""Nearest examples: how the playbooks' own examples teach the matcher.

People describe a situation without its obvious word ("their quote is way above
the other vendor"). Each example phrase becomes a TF-IDF vector over word stems
and stem pairs, kept in an inverted index, so a message is compared only with
the examples that share a term with it. A manager fixes a miss by adding an
example to the YAML; nothing is trained outside the repository.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.lexicon import concepts
from bot.postings import Postings
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

    def __init__(self, examples: Sequence[tuple[int, Features]]) -> None:
        df: Counter[str] = Counter()
        for _, feats in examples:
            df.update(feats.keys())
        total = len(examples)
        self._idf = {term: math.log((total + 1) / (n + 1)) + 1.0 for term, n in df.items()}
        self._unknown_idf = math.log(total + 1) + 1.0
        self.labels = [label for label, _ in examples]
        self._copies: dict[str, int] = {}
        """Each example's exact features: pruning may drop a copy's own terms, but a
        message that says exactly what an example says is that example."""
        lists: dict[str, list[tuple[int, float]]] = {}
        for doc, (_, feats) in enumerate(examples):
            self._copies.setdefault(_key(feats), doc)
            vector = self._weigh(feats)
            for term, weight in vector.items():
                lists.setdefault(term, []).append((doc, weight))
        for postings in lists.values():
            if len(postings) > MAX_DOCS_PER_TERM:
                postings.sort(key=lambda dw: (-dw[1], dw[0]))
                del postings[MAX_DOCS_PER_TERM:]
        self._postings = Postings(lists)

    def _weigh(self, feats: Features) -> dict[str, float]:
        vector = {
            term: (1.0 + math.log(count)) * self._idf.get(term, self._unknown_idf)
            for term, count in feats.items()
        }
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return {term: w / norm for term, w in vector.items()}

    def nearest(self, feats: Features) -> dict[int, Neighbour]:
        """For every label with an example sharing a term: its closest example."""
        scores: dict[int, float] = {}
        for term, weight in self._weigh(feats).items():
            for doc, doc_weight in self._postings.get(term):
                scores[doc] = scores.get(doc, 0.0) + weight * doc_weight
        copy = self._copies.get(_key(feats))
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


def _key(feats: Features) -> str:
    """The same text for the same features, whatever their order."""
    return "\n".join(f"{term}\t{n}" for term, n in sorted(feats.items()))
