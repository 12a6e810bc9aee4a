from __future__ import annotations

import pytest

from bot.postings import Pairs, Postings


def packed(lists: dict[str, list[tuple[int, float]]], keep: int | None = None) -> Postings:
    pairs = Pairs()
    for term, entries in lists.items():
        for key, weight in entries:
            pairs.add(term, key, weight)
    return Postings.of(pairs, keep)


def test_each_term_gives_back_its_pairs_in_order() -> None:
    postings = packed({"renew": [(3, 0.5), (1, 2.25)], "price": [(7, -1.0)]})
    assert list(postings.get("renew")) == [(3, 0.5), (1, 2.25)]
    assert list(postings.get("price")) == [(7, -1.0)]
    assert list(postings.get("unknown")) == []
    assert "price" in postings and "unknown" not in postings and len(postings) == 2


def test_a_term_of_the_shared_table_without_pairs_here_is_absent() -> None:
    terms = {"elsewhere": 0}
    pairs = Pairs(terms)
    pairs.add("renew", 1, 1.0)
    postings = Postings.of(pairs)
    assert terms == {"elsewhere": 0, "renew": 1}
    assert "elsewhere" not in postings and list(postings.get("elsewhere")) == []
    assert len(postings) == 1


def test_keep_cuts_each_term_to_its_strongest_pairs() -> None:
    postings = packed({"t": [(1, 0.5), (2, 3.0), (0, 3.0), (4, 1.0)], "u": [(9, 0.1)]}, keep=2)
    assert list(postings.get("t")) == [(0, 3.0), (2, 3.0)]
    assert list(postings.get("u")) == [(9, 0.1)]


def test_weights_keep_full_precision() -> None:
    weight = 0.1 + 0.2
    assert list(packed({"t": [(0, weight)]}).get("t")) == [(0, weight)]


def test_a_term_with_too_many_pairs_is_refused() -> None:
    with pytest.raises(ValueError, match="65536 postings"):
        packed({"t": [(0, 1.0)] * 65536})
