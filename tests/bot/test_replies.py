"""What people read in an answer: one plain reason, the full evidence only on request."""

from __future__ import annotations

import re

import pytest

from bot.matcher import Candidate, Evidence
from bot.playbook_set import PlaybookSet
from bot.replies import guidance_reply, why_line, why_text

JARGON = re.compile(r"Score|\d\.\d|\(\+|words learnt| words\b|\\b|regex|reads like a customer")


@pytest.mark.parametrize("text", [
    "they said the price is way above what the other vendor quoted",
    "the client says our quote is way too expensive",
    "our swag box never arrived at the client",
    "the customer is furious about the outage and wants to cancel",
    "a prospect stopped by our booth at the expo and wants a demo",
])
def test_the_reason_people_see_is_one_plain_line(library: PlaybookSet, text: str) -> None:
    best = library.matcher.match(text).best
    assert best is not None
    line = why_line(best)
    assert line.startswith("Matched because ") and line.endswith(".")
    assert "\n" not in line and len(line) < 300
    assert not JARGON.search(line), line


def test_the_reason_names_concepts_and_the_closest_example(library: PlaybookSet) -> None:
    best = library.matcher.match(
        "they said the price is way above what the other vendor quoted").best
    assert best is not None and best.playbook == "price-objection"
    line = why_line(best)
    assert "price" in line and "a competitor" in line
    assert 'closest example: "they said our quote is way above the other vendor"' in line
    assert why_text(best).startswith(f"Score {best.score:.2f}: ")
    assert "rival words" in why_text(best)


def test_a_concept_that_repeats_a_trigger_is_left_out() -> None:
    candidate = Candidate("renewal", 0.6, (
        Evidence("keyword", "renewal", 0.4),
        Evidence("words", "", 3.0, ("@customer", "@renewal", "wants")),
        Evidence("example", "customer wants more seats", 0.29)))
    assert why_line(candidate) == ('Matched because you mentioned "renewal" and a customer; '
                                   'closest example: "customer wants more seats".')


def test_a_trigger_inside_a_longer_one_is_not_named_twice() -> None:
    candidate = Candidate("price-objection", 0.9, (
        Evidence("phrase", "expensive", 0.2), Evidence("phrase", "too expensive", 0.8),
        Evidence("regex", r"\b\d{1,2} ?% off\b", 0.6)))
    assert why_line(candidate) == 'Matched because you mentioned "too expensive".'


@pytest.mark.parametrize(("why", "line"), [
    ((Evidence("example", "x" * 300, 0.5),), 'Matched because it reads like the example "'),
    ((Evidence("regex", r"\bfoo\b", 0.9),), "Matched because your message has a pattern "),
    ((), "Matched because it reads like this playbook's examples."),
])
def test_reasons_without_words_people_said(why: tuple[Evidence, ...], line: str) -> None:
    said = why_line(Candidate("renewal", 0.5, why))
    assert said.startswith(line) and len(said) < 200 and "\\b" not in said


def test_explain_adds_the_full_evidence(library: PlaybookSet) -> None:
    best = library.matcher.match("the client says our quote is way too expensive").best
    assert best is not None
    playbook = library.by_id[best.playbook]
    plain = guidance_reply(playbook, best, ephemeral=True, in_thread=False)
    full = guidance_reply(playbook, best, ephemeral=True, in_thread=False, explain=True)
    assert [s.title for s in plain.sections] == [playbook.title, "What to do",
                                                 "Why this playbook"]
    assert [s.title for s in full.sections][-1] == "Evidence"
    assert full.sections[-1].text == why_text(best)
