"""Telling a message in another language apart, without calling any English one foreign."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.language import foreign_language
from bot.playbook_set import PlaybookSet

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(("text", "language"), [
    ("le client dit que notre prix est trop élevé par rapport au concurrent", "French"),
    ("Bonjour, le client n'est pas content du tout et veut annuler", "French"),
    ("Der Kunde sagt, unser Angebot ist viel zu teuer", "German"),
    ("el cliente dice que nuestro precio es muy alto", "Spanish"),
    ("il cliente dice che il prezzo è troppo alto", "Italian"),
    ("o cliente disse que o preço está muito alto", "Portuguese"),
    ("de klant zegt dat onze prijs te hoog is", "Dutch"),
    ("клиент говорит, что цена слишком высокая", "Cyrillic script"),
    ("顧客は価格が高すぎると言っています", "Japanese"),
    ("<@U024BE7LH> le client dit que c'est trop cher", "French"),
])
def test_other_languages_are_named(text: str, language: str) -> None:
    assert foreign_language(text) == language


@pytest.mark.parametrize("text", [
    "the client in Los Angeles said our price is too high",
    "client wrote 'nous ne sommes pas satisfaits du service', what do we do?",
    "Renée from Société Générale said the quote is too high",
    "Müller GmbH wants 20 more seats before the renewal",
    "lunch?", "", "👍", "ok", "die Hard rewatch tonight, anyone?",
])
def test_english_with_foreign_names_or_quotes_stays_english(text: str) -> None:
    assert foreign_language(text) is None


NOT_ENGLISH = {"quien va al partido del America el sabado",
               "dîner chez Le Pick-Up, qui vient? 12h15"}
"""Chatter a training writer wrote in their own language: rightly called foreign."""


def test_no_english_message_of_the_evaluation_sets_or_the_playbooks_is_called_foreign(
        library: PlaybookSet) -> None:
    files = sorted([*DATA.glob("eval_*.jsonl"), *DATA.glob("corpus/*/*.jsonl")])
    texts = [json.loads(line)["text"] for path in files
             for line in path.read_text().splitlines() if line.strip()]
    for playbook in library.playbooks:
        texts += [*playbook.examples.match, *playbook.examples.no_match, *playbook.guidance,
                  playbook.summary, playbook.nudge]
    assert library.background is not None
    texts += library.background.examples
    assert len(texts) > 6000
    assert {t for t in texts if foreign_language(t) is not None} == NOT_ENGLISH
