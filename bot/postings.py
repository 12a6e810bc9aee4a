"""Inverted-index postings packed into flat arrays, for the matcher's models.

With 10,000 triggers the matcher's four models hold hundreds of thousands of
(id, weight) pairs over some 80,000 terms. As lists of tuples each pair costs a
tuple and a float object (about 90 bytes); packed here it costs 12. Keyed by a dict
of their own, each model would also pay, per term, a dict entry and an int (about
80 bytes), four times over for the terms they share, and the perceptron its own
copy of each string: the models of one matcher instead share one `Terms` table, and
each keeps, per term number, only where its pairs start and how many (6 bytes).
Built once at load, read-only; nothing is kept as a Python object per pair, and per
term only the shared table's entry.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

Terms = dict[str, int]
"""Each term a matcher's models know, numbered from 0 in the order first seen."""

MAX_PAIRS = (1 << 16) - 1
ABSENT = (1 << 32) - 1
"""The start of a term this model has no entry for."""


class Postings:
    """Each term's (id, weight) pairs, in the order given; `term in postings` as a dict."""

    __slots__ = ("_ids", "_lengths", "_size", "_starts", "_terms", "_weights")

    @classmethod
    def of(cls, pairs: Pairs, keep: int | None = None) -> Postings:
        """The postings of what `pairs` collected; with `keep`, only each term's strongest
        `keep` pairs, by weight and then id (a term with fewer keeps the order given)."""
        postings = cls.__new__(cls)
        postings._adopt(pairs, keep)
        return postings

    def _adopt(self, pairs: Pairs, keep: int | None) -> None:
        terms = pairs.terms
        count = len(terms)
        lengths = array("I", bytes(4 * count))
        for at in pairs.at:
            lengths[at] += 1
        starts = array("I", bytes(4 * count))
        total = 0
        for at in range(count):
            starts[at] = total
            total += lengths[at]
        ids = array("i", bytes(4 * total))
        weights = array("d", bytes(8 * total))
        fill = array("I", starts)
        for at, key, weight in zip(pairs.at, pairs.ids, pairs.weights, strict=True):
            ids[fill[at]] = key
            weights[fill[at]] = weight
            fill[at] += 1
        del fill
        pairs.clear()
        if keep is not None:
            ids, weights = _strongest(ids, weights, starts, lengths, keep)
        size = 0
        for at in range(count):
            if not lengths[at]:
                starts[at] = ABSENT
                continue
            size += 1
            if lengths[at] > MAX_PAIRS:
                term = next(t for t, n in terms.items() if n == at)
                raise ValueError(f"{lengths[at]} postings for {term!r}; the most is {MAX_PAIRS}")
        self._terms = terms
        self._starts = starts
        self._lengths = array("H", lengths)
        self._ids = ids
        self._weights = weights
        self._size = size

    def __contains__(self, term: object) -> bool:
        at = self._terms.get(term) if isinstance(term, str) else None
        return at is not None and at < len(self._starts) and self._starts[at] != ABSENT

    def __len__(self) -> int:
        return self._size

    def get(self, term: str) -> Iterator[tuple[int, float]]:
        """The term's pairs; none for a term never seen."""
        at = self._terms.get(term)
        if at is None or at >= len(self._starts):
            return iter(())
        start = self._starts[at]
        if start == ABSENT:
            return iter(())
        end = start + self._lengths[at]
        return zip(self._ids[start:end], self._weights[start:end], strict=True)


class Pairs:
    """Collects (term, id, weight) in flat arrays for `Postings.of`.

    Grouping by term happens once, there, as a counting sort over term numbers: a
    load makes no list or tuple per term or pair, which would be freed right after
    and leave the long-lived objects made meanwhile scattered over memory that the
    process then cannot give back.
    """

    def __init__(self, terms: Terms | None = None) -> None:
        self.terms: Terms = {} if terms is None else terms
        self.at = array("I")
        self.ids = array("i")
        self.weights = array("d")

    def add(self, term: str, key: int, weight: float) -> None:
        self.put(self.terms.setdefault(term, len(self.terms)), key, weight)

    def put(self, at: int, key: int, weight: float) -> None:
        """`add` for a term by its number in `terms`."""
        self.at.append(at)
        self.ids.append(key)
        self.weights.append(weight)

    def clear(self) -> None:
        """Drop the pairs collected, once packed."""
        self.at = array("I")
        self.ids = array("i")
        self.weights = array("d")


def _strongest(ids: array[int], weights: array[float], starts: array[int],
               lengths: array[int], keep: int) -> tuple[array[int], array[float]]:
    """Cut every term with more than `keep` pairs to its strongest, moving the starts."""
    kept_ids = array("i")
    kept_weights = array("d")
    for at, start in enumerate(starts):
        end = start + lengths[at]
        starts[at] = len(kept_ids)
        if end - start <= keep:
            kept_ids.extend(ids[start:end])
            kept_weights.extend(weights[start:end])
            continue
        best = sorted(zip(ids[start:end], weights[start:end], strict=True),
                      key=lambda kw: (-kw[1], kw[0]))[:keep]
        lengths[at] = keep
        for key, weight in best:
            kept_ids.append(key)
            kept_weights.append(weight)
    return kept_ids, kept_weights
