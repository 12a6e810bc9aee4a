"""Every kind of bad playbook gets a message naming file, line, column and field."""

from __future__ import annotations

import pytest

from bot.playbooks import (
    MAX_FILE_BYTES,
    MAX_UNINDEXED_REGEXES,
    PlaybookErrors,
    parse_background,
    parse_playbook,
    parse_playbooks,
)

GOOD = """\
id: price
title: Price objection
summary: A customer says we cost too much.
triggers:
  - phrase: too expensive
    weight: 0.9
  - keyword: discount
  - regex: '\\b\\d+ ?% off\\b'
  - veto: coffee machine
  - cheaper elsewhere
guidance:
  - Ask what they compare us with.
nudge: Lead with value.
prompts:
  - Who did you save money for today?
examples:
  match:
    - the client says we are too expensive
  no_match:
    - the coffee machine is too expensive
"""


def errors_of(text: str, source: str = "playbooks/price.yaml") -> list[str]:
    with pytest.raises(PlaybookErrors) as info:
        parse_playbook(source, text)
    return [str(e) for e in info.value.errors]


def test_good_playbook_parses() -> None:
    playbook = parse_playbook("playbooks/price.yaml", GOOD)
    assert playbook.id == "price"
    assert [t.kind for t in playbook.triggers] == ["phrase", "keyword", "regex", "veto", "phrase"]
    assert playbook.triggers[1].weight == 0.5


def test_weight_out_of_range_names_file_line_column_and_path() -> None:
    bad = GOOD.replace("weight: 0.9", "weight: 3")
    assert errors_of(bad) == [
        "playbooks/price.yaml:6:5: triggers[0].weight: must be a number between 0 and 1"
    ]


def test_weight_not_a_number() -> None:
    bad = GOOD.replace("weight: 0.9", "weight: high")
    assert errors_of(bad) == [
        "playbooks/price.yaml:6:5: triggers[0].weight: must be a number between 0 and 1"
    ]


def test_unknown_key_is_an_error_not_ignored() -> None:
    bad = GOOD.replace("  - keyword: discount", "  - keywrd: discount")
    (error,) = errors_of(bad)
    assert error.startswith("playbooks/price.yaml:7:5: triggers[1].keywrd: unknown field")
    assert "keyword" in error


def test_unknown_top_level_key() -> None:
    (error,) = errors_of(GOOD + "nudges: twice\n")
    assert error.startswith("playbooks/price.yaml:21:1: nudges: unknown field")


def test_missing_field() -> None:
    bad = GOOD.replace("nudge: Lead with value.\n", "")
    assert errors_of(bad) == ["playbooks/price.yaml:1:1: nudge: is required"]


def test_bad_regex() -> None:
    bad = GOOD.replace("'\\b\\d+ ?% off\\b'", "'(unclosed'")
    (error,) = errors_of(bad)
    assert error.startswith("playbooks/price.yaml:8:5: triggers[2]: regex is not valid")


def test_trigger_with_two_kinds() -> None:
    bad = GOOD.replace("  - keyword: discount", "  - keyword: discount\n    phrase: money off")
    (error,) = errors_of(bad)
    assert "triggers[1]: needs exactly one of phrase, keyword, regex or veto" in error


def test_keyword_must_be_one_word() -> None:
    bad = GOOD.replace("keyword: discount", "keyword: big discount")
    (error,) = errors_of(bad)
    assert "triggers[1]: keyword must be a single word" in error


def test_wrong_types() -> None:
    bad = GOOD.replace("  - Ask what they compare us with.", "  - [not, text]")
    (error,) = errors_of(bad)
    assert error.startswith("playbooks/price.yaml:12:5: guidance[0]: must be text")


def test_empty_list() -> None:
    bad = GOOD.replace("prompts:\n  - Who did you save money for today?", "prompts: []")
    (error,) = errors_of(bad)
    assert error.startswith("playbooks/price.yaml:14:1: prompts: needs at least 1 item")


def test_bad_id() -> None:
    (error,) = errors_of(GOOD.replace("id: price", "id: Price Objection"))
    assert error == "playbooks/price.yaml:1:1: id: must be lower-case letters, digits and dashes"


def test_syntax_error_has_position() -> None:
    (error,) = errors_of(GOOD.replace("title: Price objection", "title: [unclosed"))
    assert error.startswith("playbooks/price.yaml:3:")
    assert "not valid YAML" in error


def test_duplicate_key() -> None:
    (error,) = errors_of(GOOD + "title: again\n")
    assert error == "playbooks/price.yaml:21:1: title: appears twice"


def test_not_a_mapping() -> None:
    assert errors_of("- just\n- a list\n") == [
        "playbooks/price.yaml:1:1: must be a mapping of fields (id: ...)"
    ]


def test_empty_file() -> None:
    assert errors_of("") == ["playbooks/price.yaml:1:1: file is empty"]


def test_yaml_bomb_is_refused_without_expanding() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    (error,) = errors_of(bomb)
    assert "anchors and aliases" in error


def test_deep_nesting_is_refused() -> None:
    (error,) = errors_of("id: " + "[" * 50 + "]" * 50 + "\n")
    assert "nested deeper than" in error
    (error,) = errors_of("[" * 100_000)
    assert "not valid YAML" in error


def test_huge_file_is_refused() -> None:
    (error,) = errors_of(GOOD + "# " + "x" * MAX_FILE_BYTES + "\n")
    assert "larger than" in error


def test_all_errors_of_a_file_are_reported_together() -> None:
    bad = GOOD.replace("weight: 0.9", "weight: 3").replace("keyword: discount", "keywrd: x")
    assert len(errors_of(bad)) == 2


def test_duplicate_ids_across_files() -> None:
    with pytest.raises(PlaybookErrors) as info:
        parse_playbooks([("playbooks/a.yaml", GOOD), ("playbooks/b.yaml", GOOD)])
    (error,) = info.value.errors
    assert str(error) == "playbooks/b.yaml:1:5: id: 'price' is already used by playbooks/a.yaml"


def test_a_control_character_is_a_located_error_not_a_crash() -> None:
    """PyYAML refuses it while reading, before parsing: that must be a PlaybookErrors too."""
    assert errors_of(GOOD.replace("nudge: Lead", "nudge: \x1fLead")) == [
        "playbooks/price.yaml:13:8: not valid YAML: character #x001f is not allowed "
        "(special characters are not allowed)"]


def test_an_unknown_field_names_the_fields_allowed_where_it_stands() -> None:
    assert errors_of(GOOD + "nudges: twice\n") == [
        "playbooks/price.yaml:21:1: nudges: unknown field (check the spelling; allowed: id, "
        "title, summary, triggers, guidance, nudge, prompts, examples)"]
    assert errors_of(GOOD.replace("  - keyword: discount", "  - keywrd: discount")) == [
        "playbooks/price.yaml:7:5: triggers[1].keywrd: unknown field (check the spelling; "
        "allowed: phrase, keyword, regex, veto, weight)"]
    assert errors_of(GOOD.replace("  no_match:", "  nomatch:")) == [
        "playbooks/price.yaml:19:3: examples.nomatch: unknown field (check the spelling; "
        "allowed: match, no_match)"]


@pytest.mark.parametrize(("text", "expected"), [
    ("examples:\n  - lunch?\nexample: [x]\n",
     ["playbooks/background.yaml:3:1: example: unknown field (check the spelling; "
      "allowed: examples)"]),
    ("exemples: [x]\n",
     ["playbooks/background.yaml:1:1: examples: is required",
      "playbooks/background.yaml:1:1: exemples: unknown field (check the spelling; "
      "allowed: examples)"]),
    ("examples:\n  - {a: 1}\n  - ''\n",
     ["playbooks/background.yaml:2:5: examples[0]: must be text",
      "playbooks/background.yaml:3:5: examples[1]: must not be empty"]),
    ("examples: text\n", ["playbooks/background.yaml:1:1: examples: must be a list"]),
])
def test_background_errors_are_located_and_name_its_own_fields(
    text: str, expected: list[str],
) -> None:
    with pytest.raises(PlaybookErrors) as info:
        parse_background("playbooks/background.yaml", text)
    assert [str(e) for e in info.value.errors] == expected


@pytest.mark.parametrize("pattern", ["a{10000000}", "x{4294967294}", "a{1001,}",
                                     "(a{1000}){1000}", "(?:ab{100}){100}",
                                     "\\p{L}{2000}"])
def test_a_regex_that_would_take_too_much_memory_to_compile_is_refused(pattern: str) -> None:
    """`regex` writes counted repeats out: `a{10000000}` alone held 2.6 GB per instance."""
    [error] = errors_of(GOOD.replace("\\b\\d+ ?% off\\b", pattern))
    assert error.startswith("playbooks/price.yaml:8:5: triggers[2]: regex is too costly: ")


@pytest.mark.parametrize("pattern", ["a{1000}", "(ab){3}x{1,400}", "\\p{L}{50}"])
def test_a_regex_with_modest_repeats_is_fine(pattern: str) -> None:
    playbook = parse_playbook("p.yaml", GOOD.replace("\\b\\d+ ?% off\\b", pattern))
    assert playbook.triggers[2].regex == pattern


def test_regexes_without_a_literal_to_index_them_by_are_capped_per_set() -> None:
    """Each such regex runs on every message; the set names the ones past the cap."""
    def document(number: int, regexes: int) -> tuple[str, str]:
        triggers = "".join(f"  - regex: '\\d{{{n + 1}}}%'\n" for n in range(regexes))
        text = GOOD.replace("id: price", f"id: p{number}").replace(
            "  - regex: '\\b\\d+ ?% off\\b'\n", triggers)
        return f"playbooks/p{number}.yaml", text

    assert len(parse_playbooks([document(1, MAX_UNINDEXED_REGEXES)])) == 1
    with pytest.raises(PlaybookErrors) as info:
        parse_playbooks([document(1, MAX_UNINDEXED_REGEXES - 1), document(2, 3)])
    assert [str(e).split(": more than")[0] for e in info.value.errors] == [
        "playbooks/p2.yaml:9:12: triggers[3].regex", "playbooks/p2.yaml:10:12: triggers[4].regex"]
    assert f"more than {MAX_UNINDEXED_REGEXES} regexes" in str(info.value.errors[0])
