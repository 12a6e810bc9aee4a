from __future__ import annotations

import pytest

from bot.postings import Postings


def test_each_term_gives_back_its_pairs_in_order() -> None:
    postings = Postings({"renew": [(3, 0.5), (1, 2.25)], "price": [(7, -1.0)], "empty": []})
    assert list(postings.get("renew")) == [(3, 0.5), (1, 2.25)]
    assert list(postings.get("price")) == [(7, -1.0)]
    assert list(postings.get("empty")) == []
    assert list(postings.get("unknown")) == []
    assert "empty" in postings and "unknown" not in postings and len(postings) == 3


def test_weights_keep_full_precision() -> None:
    weight = 0.1 + 0.2
    assert list(Postings({"t": [(0, weight)]}).get("t")) == [(0, weight)]


def test_a_term_with_too_many_pairs_is_refused() -> None:
    with pytest.raises(ValueError, match="65536 postings"):
        Postings({"t": [(0, 1.0)] * 65536})
