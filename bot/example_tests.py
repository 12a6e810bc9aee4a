"""Running each playbook's own examples, as `touchpoint test` and CI do.

A manager's examples are the playbook's contract: every `match` example must
pick its playbook in guide mode, and no `no_match` example may.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.playbook_set import PlaybookSet


@dataclass(frozen=True)
class Failure:
    example: str
    expected: str
    got: str | None
    why: str


@dataclass(frozen=True)
class Ambiguity:
    example: str
    playbooks: tuple[str, str]
    scores: tuple[float, float]


@dataclass
class PlaybookReport:
    playbook: str
    passed: int = 0
    failures: list[Failure] = field(default_factory=list)
    ambiguities: list[Ambiguity] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_examples(library: PlaybookSet) -> list[PlaybookReport]:
    """One report per playbook, in the set's order."""
    matcher = library.matcher
    threshold = matcher.tuning.guide_threshold
    reports = []
    for playbook in library.playbooks:
        report = PlaybookReport(playbook.id)
        for text in playbook.examples.match:
            result = matcher.match(text, "guide")
            got = result.best.playbook if result.best else None
            if got == playbook.id:
                report.passed += 1
            else:
                why = "; ".join(str(e) for e in result.best.why) if result.best else "no match"
                report.failures.append(Failure(text, playbook.id, got, why))
            top = result.candidates[:2]
            if len(top) == 2 and top[1].score >= threshold:
                report.ambiguities.append(
                    Ambiguity(text, (top[0].playbook, top[1].playbook),
                              (top[0].score, top[1].score))
                )
        for text in playbook.examples.no_match:
            result = matcher.match(text, "guide")
            if result.best is not None and result.best.playbook == playbook.id:
                why = "; ".join(str(e) for e in result.best.why)
                report.failures.append(Failure(text, f"not {playbook.id}", playbook.id, why))
            else:
                report.passed += 1
        reports.append(report)
    return reports
