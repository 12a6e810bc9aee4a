"""Inverted-index postings packed into flat arrays, for the matcher's models.

With 10,000 triggers the classifier and the example index hold hundreds of
thousands of (id, weight) pairs. As lists of tuples each pair costs a tuple and
a float object (about 90 bytes); packed here it costs 12, which is most of what
a large playbook set adds to a process's memory. Built once at load, read-only.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence

_LENGTH_BITS = 16


class Postings:
    """Each term's (id, weight) pairs, in the order given; `term in postings` as a dict."""

    __slots__ = ("_at", "_ids", "_weights")

    def __init__(self, lists: Mapping[str, Sequence[tuple[int, float]]]) -> None:
        ids = array("i")
        weights = array("d")
        at: dict[str, int] = {}
        for term, entries in lists.items():
            if len(entries) >= 1 << _LENGTH_BITS:
                raise ValueError(f"{len(entries)} postings for {term!r}; the most is "
                                 f"{(1 << _LENGTH_BITS) - 1}")
            at[term] = (len(ids) << _LENGTH_BITS) | len(entries)
            for key, weight in entries:
                ids.append(key)
                weights.append(weight)
        self._at = at
        self._ids = ids
        self._weights = weights

    def __contains__(self, term: object) -> bool:
        return term in self._at

    def __len__(self) -> int:
        return len(self._at)

    def get(self, term: str) -> Iterator[tuple[int, float]]:
        """The term's pairs; none for a term never seen."""
        packed = self._at.get(term)
        if packed is None:
            return iter(())
        start, length = packed >> _LENGTH_BITS, packed & ((1 << _LENGTH_BITS) - 1)
        end = start + length
        return zip(self._ids[start:end], self._weights[start:end], strict=True)
