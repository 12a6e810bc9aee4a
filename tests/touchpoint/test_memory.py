"""Free heap memory is handed back once the resident size has grown, and only then."""

from __future__ import annotations

from touchpoint.memory import GROWTH, Trimmer, glibc_trim, resident


def test_memory_is_handed_back_only_after_growth() -> None:
    sizes = [100 * GROWTH]
    trims: list[int] = []

    def trim() -> None:
        trims.append(sizes[0])
        sizes[0] = 101 * GROWTH

    trimmer = Trimmer(trim, lambda: sizes[0])
    sizes[0] += GROWTH // 2
    trimmer.check()
    assert trims == []
    sizes[0] = 103 * GROWTH
    trimmer.check()
    assert trims == [103 * GROWTH]
    sizes[0] = 101 * GROWTH + GROWTH // 2  # grown since the trim, but by less than GROWTH
    trimmer.check()
    assert trims == [103 * GROWTH]


def test_this_machine_measures_and_trims() -> None:
    trim = glibc_trim()
    assert resident() > 0 and trim is not None
    trim()
