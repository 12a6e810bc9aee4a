from __future__ import annotations

from dataclasses import replace

import pytest

from bot import regexes
from bot.matcher import Matcher, MatchResult
from bot.playbooks import Playbook, parse_playbook
from bot.similarity import MAX_DOCS_PER_TERM, ExampleIndex, features, wording
from bot.text import plain


def playbook(
    pid: str, triggers: str, match: list[str], no_match: list[str] | None = None
) -> Playbook:
    lines = [f"id: {pid}", f"title: {pid}", "summary: s", "guidance: [g]", "nudge: n",
             "prompts: [p]", "triggers:", triggers, "examples:", "  match:"]
    lines += [f"    - {m!r}" for m in match]
    lines += ["  no_match:"] + [f"    - {m!r}" for m in (no_match or [])]
    if not no_match:
        lines[-1] = "  no_match: []"
    return parse_playbook(f"{pid}.yaml", "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([
        playbook("price", "  - phrase: too expensive\n    weight: 0.9\n"
                 "  - phrase: discount\n    weight: 0.7\n  - veto: coffee machine\n"
                 "  - regex: '\\b\\d{1,2} ?% off\\b'\n    weight: 0.8",
                 ["they said our quote is way above the other vendor",
                  "prospect wants money off before signing"],
                 ["the coffee machine is too expensive"]),
        playbook("booth", "  - phrase: trade show booth\n    weight: 0.9\n"
                 "  - phrase: booth\n    weight: 0.3\n  - veto: photo booth",
                 ["who is staffing our stand at the expo next week"]),
        playbook("call", "  - phrase: customer call\n    weight: 0.8\n"
                 "  - phrase: called the customer\n    weight: 0.8",
                 ["just hung up with the client, need to send a recap"]),
    ])


def test_phrase_with_inflection_and_case(matcher: Matcher) -> None:
    result = matcher.match("They said we are TOO EXPENSIVE!!", "guide")
    assert result.best is not None and result.best.playbook == "price"
    assert 'phrase "too expensive" (0.90)' in [str(e) for e in result.best.why]


@pytest.mark.parametrize("text", [
    "I called the customers now", "customer calls all day", "just had a customer call",
])
def test_inflections_of_call(matcher: Matcher, text: str) -> None:
    result = matcher.match(text, "guide")
    assert result.best is not None and result.best.playbook == "call"


def test_typo_is_corrected(matcher: Matcher) -> None:
    result = matcher.match("they want a dicsount", "guide")
    assert result.best is not None and result.best.playbook == "price"


def test_markup_is_ignored(matcher: Matcher) -> None:
    for text in ("<@U123> <#C1|sales> :fire: too <b>expensive</b>",
                 "<at>Touchpoint</at> too expensive", "<https://x.io|too expensive>"):
        result = matcher.match(text, "guide")
        assert result.best is not None and result.best.playbook == "price", text


def test_examples_teach_the_matcher_without_trigger_words(matcher: Matcher) -> None:
    result = matcher.match("the quote is way above what the other vendor offered", "guide")
    assert result.best is not None and result.best.playbook == "price"
    assert any(e.kind == "example" for e in result.best.why)


def test_veto_blocks_a_playbook(matcher: Matcher) -> None:
    assert matcher.match("the photo booth at the party", "guide").best is None
    result = matcher.match("the coffee machine is too expensive again", "guide")
    assert result.best is None


def test_regex_trigger(matcher: Matcher) -> None:
    result = matcher.match("can we do 20% off", "guide")
    assert result.best is not None and result.best.playbook == "price"
    assert any(e.kind == "regex" for e in result.best.why)


def test_regexes_are_indexed_not_all_run() -> None:
    pbs = [playbook(f"p{i}", f"  - regex: 'word{i:04d}x+'", ["example text"]) for i in range(300)]
    matcher = Matcher(pbs)
    assert matcher.regexes.counts == (300, 0)
    assert matcher.regexes.candidates("nothing relevant here at all") == 0
    assert matcher.regexes.candidates("about word0042xx today") == 1
    assert matcher.match("about word0042xx today").best.playbook == "p42"  # type: ignore[union-attr]


def test_regex_without_literal_still_works() -> None:
    matcher = Matcher([playbook("num", "  - regex: '\\d+%'\n    weight: 0.9", ["x y"])])
    assert matcher.regexes.counts == (0, 1)
    assert matcher.match("50% now").best is not None


def test_catastrophic_regex_does_not_hang() -> None:
    matcher = Matcher([playbook("evil", "  - regex: '(a+)+b'\n    weight: 0.9", ["q r"])])
    assert matcher.match("a" * 5000 + "!", "guide").best is None


def test_a_regex_cut_off_again_and_again_is_switched_off_until_the_next_load(
        caplog: pytest.LogCaptureFixture) -> None:
    """Each cut-off holds up everything else the process does; a stream of messages made
    for a bad expression must not turn that into a stall."""
    def build() -> Matcher:
        return Matcher([playbook("evil", "  - regex: 'x(a|aa)+$'\n    weight: 0.95", ["q r"])])

    matcher = build()
    attack = "x" + "a" * 60 + "b"
    assert matcher.match("xaa", "guide").best is not None
    for _ in range(regexes.STRIKES + 2):
        assert matcher.match(attack, "guide").best is None
    levels = [r.levelname for r in caplog.records if r.name == "touchpoint.matcher"]
    assert levels == ["WARNING"] * (regexes.STRIKES - 1) + ["ERROR"]
    assert "evil" in caplog.records[-1].getMessage()
    assert matcher.regexes.switched_off == [("evil", "x(a|aa)+$")]
    assert matcher.match("xaa", "guide").best is None  # off: not even tried
    assert build().match("xaa", "guide").best is not None  # a reload builds it afresh


def test_nudge_is_stricter_than_guide(matcher: Matcher) -> None:
    text = "who is going to the expo"
    assert matcher.match(text, "nudge").best is None


def test_nothing_matches_chatter(matcher: Matcher) -> None:
    for text in ("", "lunch?", "the build is red again", "🙂" * 50):
        assert matcher.match(text, "guide").best is None
        assert matcher.match(text, "nudge").best is None


def test_suggestions_when_nothing_fits(matcher: Matcher) -> None:
    result = matcher.match("the expo", "nudge")
    assert result.best is None
    assert [c.playbook for c in result.suggestions()] == ["booth"]


def test_deterministic(matcher: Matcher) -> None:
    text = "customer call about a discount at the trade show booth"
    first = matcher.match(text, "guide")
    assert all(matcher.match(text, "guide") == first for _ in range(5))


def test_long_message_is_cut_not_slow(matcher: Matcher) -> None:
    result = matcher.match("too expensive " + "blah " * 100_000, "guide")
    assert result.best is not None and result.best.playbook == "price"


def test_no_match_example_fixes_a_false_positive() -> None:
    base = ["  - phrase: renewal\n    weight: 0.6", ["the acme renewal is next month"]]
    before = Matcher([playbook("renewal", base[0], base[1])])  # type: ignore[arg-type]
    assert before.match("ssl cert renewal due", "guide").best is not None
    after = Matcher([playbook("renewal", base[0], base[1],  # type: ignore[arg-type]
                              ["ssl cert renewal due"])])
    assert after.match("ssl cert renewal due", "guide").best is None


def test_a_copy_of_an_example_is_identical_even_when_its_terms_were_pruned() -> None:
    crowd = [(0, features(["alpha"]))] * (MAX_DOCS_PER_TERM + 5)
    index = ExampleIndex([*crowd, (1, features(["alpha", "gamma", "delta"]))])
    assert index.nearest(features(["alpha", "gamma", "delta"]))[1].similarity == 1.0
    assert index.nearest(features(["alpha", "gamma"]))[1].similarity < 1.0


def decided(matcher: Matcher, text: str, **knobs: float) -> MatchResult:
    saved = matcher.tuning
    matcher.tuning = replace(saved, **knobs)
    try:
        return matcher.decide(matcher.observe(text), "guide")
    finally:
        matcher.tuning = saved


def test_temperature_gives_the_runner_up_a_larger_share(matcher: Matcher) -> None:
    text = "customer call about a discount at the trade show booth"
    sharp, soft = (decided(matcher, text, temperature=t, trigger_gain=5.0, example_gain=0.0,
                           rank_gain=0.0).candidates for t in (1.0, 4.0))
    assert len(sharp) >= 2 and len(soft) >= 2
    assert soft[0].playbook == sharp[0].playbook
    assert soft[1].score / soft[0].score > sharp[1].score / sharp[0].score


def test_the_closest_example_adds_to_its_playbook(matcher: Matcher) -> None:
    text = "anyone staffing our stand at the expo, or a customer call"
    plain, boosted = (decided(matcher, text, example_gain=g, trigger_gain=5.0,
                              temperature=1.0, rank_gain=0.0).candidates for g in (0.0, 30.0))
    assert plain[0].playbook == "call" and boosted[0].playbook == "booth"
    assert boosted[0].score > {c.playbook: c.score for c in plain}["booth"]


def test_the_words_as_written_keep_stop_words_and_pairs() -> None:
    feats = wording(plain("We are NOT happy, how do I fix it?"))
    assert {"not", "not happy", "how do", "we"} <= set(feats)
    assert "i" not in feats


def test_the_perceptron_on_the_words_as_written_ranks_a_playbook() -> None:
    """Its gain lifts the playbook whose examples share the message's phrasing, even
    where no trigger and no stem tells them apart."""
    plans = Matcher([
        playbook("kickoff", "  - phrase: kickoff\n    weight: 0.5",
                 ["kickoff with them is booked for next week",
                  "booked the kickoff for tuesday with their team"]),
        playbook("call", "  - phrase: kickoff\n    weight: 0.5",
                 ["we had the kickoff and it went well",
                  "had our kickoff today, sending notes"]),
    ], background=["booked the meeting room for the offsite", "lunch is booked for friday"])
    text = "kickoff is booked for monday"
    assert plans.observe(text).ranks[0] > plans.observe(text).ranks[1]
    off, on = (decided(plans, text, rank_gain=g).candidates for g in (0.0, 16.0))
    assert on[0].playbook == "kickoff"
    assert on[0].score > {c.playbook: c.score for c in off}.get("kickoff", 0.0)
