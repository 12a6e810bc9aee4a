"""Adding examples to a playbook's text: the new lines only, the rest exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from touchpoint.example_patch import Addition, PatchError, add_examples, playbook_id

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def added_lines(before: str, after: str) -> list[str]:
    old, new = before.split("\n"), after.split("\n")
    assert len(new) > len(old)
    for index, line in enumerate(old):  # everything before stays; the rest is shifted
        if new[index] != line:
            extra = len(new) - len(old)
            assert new[index + extra:] == old[index:]
            return new[index:index + extra]
    return new[len(old):]


@pytest.mark.parametrize("path", sorted(p for p in PLAYBOOKS.glob("*.yaml")
                                        if p.name not in ("schedule.yaml", "background.yaml")))
def test_every_shipped_playbook_takes_an_example_after_its_last_one(path: Path) -> None:
    text = path.read_text()
    after = add_examples(text, ("examples", "match"), [
        Addition('they said "year two" # not a comment', "was shown renewal; why: it's #2")])
    parsed = yaml.safe_load(after)
    assert parsed["examples"]["match"][-1] == 'they said "year two" # not a comment'
    assert parsed["examples"]["match"][:-1] == yaml.safe_load(text)["examples"]["match"]
    [line] = added_lines(text, after)
    assert line.endswith("  # was shown renewal; why: it's #2")
    assert playbook_id(text) == parsed["id"]


def test_background_takes_chatter_at_the_end_of_its_list() -> None:
    text = (PLAYBOOKS / "background.yaml").read_text()
    after = add_examples(text, ("examples",), [Addition("my kid's school fair"),
                                               Addition("line\nbreak  and   spaces")])
    assert yaml.safe_load(after)["examples"][-2:] == ["my kid's school fair",
                                                     "line break and spaces"]
    assert len(added_lines(text, after)) == 2


def test_other_layouts() -> None:
    flow = "id: x\nexamples:\n  match: []  # none yet\n  no_match:\n    - a\nother: 1\n"
    assert add_examples(flow, ("examples", "match"), [Addition("new")]) == (
        "id: x\nexamples:\n  match:  # none yet\n    - \"new\"\n  no_match:\n    - a\nother: 1\n")
    indentless = "examples:\n  match:\n  - a\n  - >-\n    long\n    more\n  # c\nother: 1\n"
    after = add_examples(indentless, ("examples", "match"), [Addition("new")])
    assert yaml.safe_load(after)["examples"]["match"] == ["a", "long more", "new"]
    assert after.endswith("  - \"new\"\n  # c\nother: 1\n")
    with pytest.raises(PatchError, match="one line"):
        add_examples("examples:\n  match: [a, b]\n", ("examples", "match"), [Addition("n")])
    with pytest.raises(PatchError, match="no examples.match"):
        add_examples("examples:\n  no_match:\n    - a\n", ("examples", "match"),
                     [Addition("n")])
    assert add_examples(flow, ("examples", "match"), []) == flow
