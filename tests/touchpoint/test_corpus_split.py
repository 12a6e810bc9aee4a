"""The by-writer corpus keeps its split: no writer and no message on both sides."""

from __future__ import annotations

from pathlib import Path

from touchpoint.evaluate import read_labelled

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SITUATIONS = 14


def _split(name: str) -> dict[str, list[str]]:
    by_writer: dict[str, list[str]] = {}
    for path in sorted((CORPUS / name).glob("*.jsonl")):
        for item in read_labelled([path]):
            assert item.writer == path.stem, f"{path}: {item.text!r} names {item.writer}"
            assert item.mode in ("guide", "channel")
            by_writer.setdefault(path.stem, []).append(item.text.strip().lower())
    return by_writer


def test_writers_and_messages_are_on_one_side_only() -> None:
    train, test = _split("train"), _split("test")
    assert len(train) >= 9 and len(test) >= 6
    assert not set(train) & set(test)
    train_texts = {t for texts in train.values() for t in texts}
    test_texts = [t for texts in test.values() for t in texts]
    assert not train_texts & set(test_texts)
    assert len(test_texts) == len(set(test_texts))
    assert len(train_texts) + len(test_texts) >= 3000


def test_every_situation_and_chatter_is_in_both_splits() -> None:
    for name in ("train", "test"):
        items = [i for p in sorted((CORPUS / name).glob("*.jsonl")) for i in read_labelled([p])]
        labels = {i.expected for i in items}
        assert None in labels and len(labels - {None}) == SITUATIONS
        assert {i.mode for i in items if i.expected is not None} == {"guide", "channel"}
