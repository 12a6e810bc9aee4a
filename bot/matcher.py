"""Which playbook a message is about, and why.

Everything costly happens once, when a playbook set is loaded: trigger phrases
go into a dictionary keyed by their first word, regular expressions are keyed
by a three-letter piece of text they cannot match without, and examples go
into a similarity index. Matching a message then looks up its own words; it
never walks the list of triggers, so its cost barely grows with the set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.classifier import BACKGROUND, Classifier, Reading
from bot.linear import Linear
from bot.playbooks import Playbook, Trigger
from bot.postings import Terms
from bot.regexes import RegexIndex
from bot.similarity import ExampleIndex, Features, Neighbour, features, wording
from bot.text import STOPWORDS, clean, clean_plain, deletes, plain, stem

Mode = Literal["guide", "nudge"]


@dataclass(frozen=True)
class Tuning:
    """The knobs that turn evidence into a decision; fitted with scripts/tune.py."""

    trigger_gain: float = 15.0
    temperature: float = 3.0
    """Divides the log-likelihood gaps before they become shares of the score: summed
    over every word, they make the best playbook look surer than it is."""
    gate_trigger: float = 3.0
    example_gain: float = 30.0
    """How much the closest example of each playbook adds to what its words say."""
    gate_mid: float = 3.0
    guide_gate_mid: float = 3.0
    gate_scale: float = 2.0
    example_floor: float = 0.2
    gap_factor: float = 0.8
    typo_factor: float = 0.85
    guide_threshold: float = 0.4
    nudge_threshold: float = 0.6
    nudge_margin: float = 0.0
    suggestion_floor: float = 0.05
    identical: float = 0.95
    rank_gain: float = 12.0
    """How much the perceptron on the words as written adds to each playbook's logit."""
    rank_gate: float = 4.0
    """How much its margin of a playbook over chatter adds to the gate, in both modes:
    naive Bayes lets a word common on both sides decide, the perceptron learns it does not."""


@dataclass(frozen=True)
class Evidence:
    """One reason a playbook scored: a trigger that fired or a close example."""

    kind: str
    text: str
    weight: float
    terms: tuple[str, ...] = ()
    """For `words`: the message's words and concepts (`@money`) behind it, for a person."""

    def __str__(self) -> str:
        if self.kind == "example":
            return f'similar to example "{self.text}" ({self.weight:.2f})'
        if self.kind == "words":
            return f"words learnt from its examples: {self.text}"
        if self.kind == "context":
            return f"reads like a customer moment ({self.weight:+.1f})"
        if self.kind == "no_match":
            return f'close to no_match example "{self.text}" (-{self.weight:.2f})'
        if self.kind == "veto":
            return f'veto "{self.text}"'
        return f'{self.kind} "{self.text}" ({self.weight:.2f})'


@dataclass(frozen=True)
class Candidate:
    playbook: str
    score: float
    why: tuple[Evidence, ...]


@dataclass(frozen=True)
class MatchResult:
    """The decision (`best`, or None) and the ranked candidates behind it."""

    mode: Mode
    best: Candidate | None
    candidates: tuple[Candidate, ...] = field(default=())

    def suggestions(self, limit: int = 3) -> tuple[Candidate, ...]:
        others = [c for c in self.candidates if self.best is None or c is not self.best]
        return tuple(others[:limit])


@dataclass(frozen=True)
class Observation:
    """What the indexes found in one message: triggers, vetoes, learnt evidence, examples."""

    evidence: dict[int, list[Evidence]]
    vetoed: dict[int, Evidence]
    reading: Reading
    neighbours: dict[int, Neighbour]
    surface: dict[str, str] = field(default_factory=dict)
    """A word of the message for each stem, to explain in the message's own words."""
    ranks: dict[int, float] = field(default_factory=dict)
    """The perceptron's score, on the words as written, for each playbook and chatter."""

    def spoken(self, term: str) -> str:
        if term.startswith("@"):
            return f"{term[1:]} words"
        return " ".join(self.surface.get(part, part) for part in term.split())


@dataclass(frozen=True, slots=True)
class _Phrase:
    playbook: int
    stems: tuple[str, ...]
    trigger: Trigger


class Matcher:
    """An index over one playbook set; immutable once built, but for the regular
    expressions switched off for running too long (see `bot.regexes`)."""

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        background: Sequence[str] = (),
        tuning: Tuning | None = None,
    ) -> None:
        """Each model reads the texts one at a time, not from lists of every text's
        features, and the perceptron learns first: its training makes the most
        short-lived objects, and made before anything long-lived, they leave whole
        pages free that the process can give back, not holes between what it keeps."""
        self.tuning = tuning or Tuning()
        self.ids = [p.id for p in playbooks]
        self._phrases: dict[str, list[_Phrase]] = {}
        self._regexes = RegexIndex()
        terms: Terms = {}
        self._ranker = Linear(((label, wording(plain(text)))
                               for label, text in _worded(playbooks, background)),
                              [label for label, _ in _worded(playbooks, background)], terms)
        vocab: Counter[str] = Counter()
        self._classifier = Classifier(self._learnt(playbooks, background, vocab), terms=terms)
        self._example_text = [text for _, text in _examples(playbooks)]
        self._examples = ExampleIndex(((label, features(_stems(text, vocab)))
                                       for label, text in _examples(playbooks)), terms)
        self._regexes.build()
        self._vocab_stems = frozenset({stem(word) for word in vocab})
        self._typos: dict[str, str] = {}
        for word in sorted(vocab, key=lambda w: (-vocab[w], w)):
            if len(word) >= 5 and word.isalpha():
                for variant in deletes(word) | {word}:
                    self._typos.setdefault(variant, word)

    def _learnt(self, playbooks: Sequence[Playbook], background: Sequence[str],
                vocab: Counter[str]) -> Iterator[tuple[int, Features]]:
        """What the classifier learns from, indexing the phrases and regexes on the way:
        each playbook's phrases and examples, then the chatter."""
        for index, playbook in enumerate(playbooks):
            for trigger in playbook.triggers:
                if trigger.regex is not None:
                    self._regexes.add(index, trigger, playbook.id)
                    continue
                stems = tuple(_stems(trigger.text, vocab))
                self._phrases.setdefault(stems[0], []).append(_Phrase(index, stems, trigger))
                if trigger.veto is None:
                    yield index, features(stems)
            for text in playbook.examples.match:
                yield index, features(_stems(text))
        for text in background:
            yield BACKGROUND, features(_stems(text, vocab))

    @property
    def regexes(self) -> RegexIndex:
        return self._regexes

    def _correct(self, word: str) -> tuple[str, bool]:
        if len(word) < 5 or not word.isalpha() or stem(word) in self._vocab_stems:
            return word, False
        for variant in sorted(deletes(word) | {word}):
            fixed = self._typos.get(variant)
            if fixed is not None and fixed[0] == word[0]:
                return fixed, True
        return word, False

    def match(self, text: str, mode: Mode = "guide") -> MatchResult:
        """Score every playbook that any evidence points to; decide per `mode`."""
        return self.decide(self.observe(text), mode)

    def observe(self, text: str) -> Observation:
        """Everything the indexes say about a message, before any decision."""
        if not isinstance(text, str):
            text = ""
        tokens: list[str] = []
        corrected: set[int] = set()
        surface: dict[str, str] = {}
        body = plain(text)
        for position, word in enumerate(clean_plain(body).split()):
            fixed, was_typo = self._correct(word)
            if was_typo:
                corrected.add(position)
            tokens.append(stem(fixed))
            surface.setdefault(tokens[-1], word)
        evidence: dict[int, list[Evidence]] = {}
        vetoed: dict[int, Evidence] = {}
        self._match_phrases(tokens, corrected, evidence, vetoed)
        for index, trigger in self._regexes.search(body):
            evidence.setdefault(index, []).append(Evidence("regex", trigger.text, trigger.weight))
        feats = features(tokens)
        reading = self._classifier.read(feats)
        neighbours = self._examples.nearest(feats)
        ranks = self._ranker.scores(wording(body))
        return Observation(evidence, vetoed, reading, neighbours, surface, ranks)

    def _match_phrases(
        self,
        tokens: list[str],
        corrected: set[int],
        evidence: dict[int, list[Evidence]],
        vetoed: dict[int, Evidence],
    ) -> None:
        fired: set[int] = set()
        for start, token in enumerate(tokens):
            for phrase in self._phrases.get(token, ()):
                if id(phrase) in fired:
                    continue
                span = _find(phrase.stems, tokens, start)
                if span is None:
                    continue
                fired.add(id(phrase))
                trigger = phrase.trigger
                if trigger.veto is not None:
                    vetoed[phrase.playbook] = Evidence("veto", trigger.veto, 1.0)
                    continue
                weight = trigger.weight
                end, gaps = span
                if gaps:
                    weight *= self.tuning.gap_factor
                if corrected.intersection(range(start, end)):
                    weight *= self.tuning.typo_factor
                evidence.setdefault(phrase.playbook, []).append(
                    Evidence(trigger.kind, trigger.text, weight)
                )

    def decide(self, seen: Observation, mode: Mode) -> MatchResult:
        """Turn an observation into a ranking and, per `mode`, a decision."""
        evidence, vetoed, reading, neighbours = (seen.evidence, seen.vetoed, seen.reading,
                                                 seen.neighbours)
        tuning = self.tuning
        triggered: dict[int, float] = {}
        for index, items in evidence.items():
            miss = 1.0
            for item in items:
                miss *= 1.0 - item.weight
            triggered[index] = 1.0 - miss
        indexes = sorted((set(evidence) | set(reading.labels)) - set(vetoed))
        if not indexes:
            return MatchResult(mode, None)
        floor = min(reading.labels.values(), default=0.0)
        logits = {i: reading.labels.get(i, floor) + tuning.trigger_gain * triggered.get(i, 0.0)
                  + tuning.example_gain * _closeness(neighbours.get(i))
                  + tuning.rank_gain * seen.ranks.get(i, 0.0)
                  for i in indexes}
        top = max(logits.values())
        weights = {i: math.exp((v - top) / tuning.temperature) for i, v in logits.items()}
        total = sum(weights.values())
        strongest = max(triggered.values(), default=0.0)
        touch = (reading.touch or 0.0) + tuning.gate_trigger * strongest
        touch += tuning.rank_gate * _margin(seen.ranks)
        middle = tuning.guide_gate_mid if mode == "guide" else tuning.gate_mid
        context = 1.0 / (1.0 + math.exp(-(touch - middle) / tuning.gate_scale))
        if reading.touch is None and mode == "guide":
            context = 1.0
        scored: list[Candidate] = []
        for index in indexes:
            why = list(evidence.get(index, ()))
            terms = reading.terms.get(index, [])
            if terms:
                shown = ", ".join(dict.fromkeys(f'"{seen.spoken(t)}"' for t, _ in terms[:5]))
                said = tuple(dict.fromkeys(t if t.startswith("@") else seen.spoken(t)
                                           for t, _ in terms[:5]))
                why.append(Evidence("words", shown, sum(w for _, w in terms), said))
            near = neighbours.get(index)
            if near is not None and near.similarity >= tuning.example_floor:
                why.append(Evidence("example", self._example_text[near.example],
                                    near.similarity))
            if reading.touch is not None:
                why.append(Evidence("context", "", touch))
            score = context * weights[index] / total
            if near is not None and near.similarity >= tuning.identical:
                score = max(score, near.similarity)
            score = self._apply_no_match(index, score, near, neighbours, why)
            if score > 0:
                scored.append(Candidate(self.ids[index], round(score, 4), tuple(why)))
        scored.sort(key=lambda c: (-c.score, c.playbook))
        ranked = tuple(c for c in scored if c.score >= tuning.suggestion_floor)
        best = ranked[0] if ranked else None
        if best is not None:
            runner_up = ranked[1].score if len(ranked) > 1 else 0.0
            if mode == "guide" and best.score < tuning.guide_threshold:
                best = None
            elif mode == "nudge" and (
                best.score < tuning.nudge_threshold
                or best.score - runner_up < tuning.nudge_margin
            ):
                best = None
        return MatchResult(mode, best, ranked)

    def _apply_no_match(
        self, index: int, score: float, near: Neighbour | None,
        neighbours: dict[int, Neighbour], why: list[Evidence],
    ) -> float:
        """A message that is closer to a playbook's no_match examples than to its
        examples is pulled down; a copy of a no_match example never matches."""
        against = neighbours.get(-index - 2)
        closest = near.similarity if near is not None else 0.0
        if against is None or score <= 0 or against.similarity <= closest:
            return score
        why.append(Evidence("no_match", self._example_text[against.example],
                            against.similarity))
        if against.similarity >= self.tuning.identical:
            return 0.0
        return score * (1.0 - (against.similarity - closest))


def _stems(text: str, vocab: Counter[str] | None = None) -> list[str]:
    """The text's stems; with `vocab`, its words are counted there, once per text read."""
    found = clean(text).split()
    if vocab is not None:
        vocab.update(found)
    return [stem(w) for w in found]


def _examples(playbooks: Sequence[Playbook]) -> Iterator[tuple[int, str]]:
    """Each playbook's examples, labelled as `ExampleIndex` keeps them: no_match ones
    as -index - 2, apart from every playbook and from chatter."""
    for index, playbook in enumerate(playbooks):
        for text in playbook.examples.match:
            yield index, text
        for text in playbook.examples.no_match:
            yield -index - 2, text


def _worded(playbooks: Sequence[Playbook],
            background: Sequence[str]) -> Iterator[tuple[int, str]]:
    """What the perceptron learns from: each example, no_match ones as chatter, then chatter."""
    for label, text in _examples(playbooks):
        yield (label if label >= 0 else BACKGROUND), text
    for text in background:
        yield BACKGROUND, text


def _margin(scores: dict[int, float]) -> float:
    """How much more the perceptron reads a playbook than background chatter."""
    if BACKGROUND not in scores or len(scores) < 2:
        return 0.0
    return max(s for label, s in scores.items() if label != BACKGROUND) - scores[BACKGROUND]


def _closeness(near: Neighbour | None) -> float:
    return near.similarity if near is not None else 0.0


def _find(stems: tuple[str, ...], tokens: list[str], start: int) -> tuple[int, int] | None:
    """Where a phrase starting at `start` ends, allowing one extra word inside it."""
    position, gaps = start + 1, 0
    for wanted in stems[1:]:
        if position < len(tokens) and tokens[position] == wanted:
            position += 1
        elif gaps == 0 and position + 1 < len(tokens) and tokens[position + 1] == wanted \
                and tokens[position] not in STOPWORDS:
            position += 2
            gaps = 1
        else:
            return None
    return position, gaps
