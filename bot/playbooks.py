"""The playbook format: what a manager may write in `playbooks/*.yaml`.

Playbooks are edited by people who do not read Python, in git, and a typo must
never disable a trigger silently; so the schema forbids unknown keys, and every
error carries the file, line, column and field path of the offending value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

import regex
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.regex_bounds import required_grams, size_problem
from bot.text import words

MAX_FILE_BYTES = 1024 * 1024
"""Big enough for a background of many writers' chatter (thousands of lines), small
enough that a file by mistake (a log, a dump) is refused before it is parsed."""
MAX_DEPTH = 16
MAX_REGEX_CHARS = 300
MAX_UNINDEXED_REGEXES = 20
"""Regexes in a set without three characters of text every match must contain: each
runs on every message, so past a few they are what every message waits for."""


class PlaybookError(ValueError):
    """One problem in one file, printable as `file:line:col: path: message`."""

    def __init__(self, source: str, line: int, column: int, path: str, message: str) -> None:
        self.source, self.line, self.column = source, line, column
        self.path, self.message = path, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PlaybookErrors(ValueError):
    """Every problem found in a set, so a manager fixes them in one pass."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _trigger_shorthand(value: Any) -> Any:
    return {"phrase": value} if isinstance(value, str) else value


class Trigger(BaseModel):
    """A phrase, keyword or regular expression that points to a playbook, or a veto."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str | None = Field(None, description="Words in this order, any inflection "
                               "(quote, quoted, quoting), one extra word allowed inside.")
    keyword: str | None = Field(None, description="One word, any inflection.")
    regex: str | None = Field(None, description="A regular expression over the lower-cased "
                              "message; keep a literal word in it so it can be indexed.")
    veto: str | None = Field(None, description="A phrase that means this playbook must not "
                             "match, e.g. 'ssl' for renewal.")
    weight: float = Field(default=0.5, ge=0.0, le=1.0, allow_inf_nan=False,
                          description="How sure this trigger alone makes us, 0 to 1.")

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        given = [k for k in ("phrase", "keyword", "regex", "veto") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one of phrase, keyword, regex or veto")
        if self.keyword is not None and len(words(self.keyword)) != 1:
            raise ValueError("keyword must be a single word; use phrase for several")
        for kind in ("phrase", "veto"):
            text = getattr(self, kind)
            if text is not None and not words(text):
                raise ValueError(f"{kind} has no words in it")
        if self.regex is not None:
            _check_regex(self.regex)
        return self

    @property
    def kind(self) -> str:
        for k in ("phrase", "keyword", "regex", "veto"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated trigger without a kind")

    @property
    def text(self) -> str:
        return str(getattr(self, self.kind))


def _check_regex(pattern: str) -> None:
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"regex is longer than {MAX_REGEX_CHARS} characters")
    problem = size_problem(pattern)
    if problem is not None:
        raise ValueError(f"regex is too costly: {problem}")
    try:
        regex.compile(pattern, regex.IGNORECASE)
    except regex.error as exc:
        raise ValueError(f"regex is not valid: {exc}") from None


Text = Annotated[str, Field(min_length=1, max_length=1000)]


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: list[Text] = Field(min_length=1, description="Messages that must pick this "
                              "playbook; the matcher also learns its words from them.")
    no_match: list[Text] = Field(default_factory=list, description="Near-misses that must "
                                 "not pick this playbook.")


class Playbook(BaseModel):
    """One customer situation and what to do about it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$",
                    description="Stable id, lower-case with dashes; used by the CLI and stats.")
    title: str = Field(min_length=1, max_length=100)
    summary: str = Field(min_length=1, max_length=200, description="One line: the situation.")
    triggers: list[Annotated[Trigger, BeforeValidator(_trigger_shorthand)]] = Field(
        default_factory=list
    )
    guidance: list[Text] = Field(min_length=1, description="The steps, in plain language.")
    nudge: str = Field(min_length=1, max_length=300,
                       description="The short reply a channel sees after such a message.")
    prompts: list[Text] = Field(min_length=1, description="Brand-promise prompts for the "
                                "daily post in a channel.")
    examples: Examples

    @field_validator("summary", "nudge")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip():
            raise ValueError("must be a single line")
        return value


class Background(BaseModel):
    """Chatter that is no customer touchpoint: what the bot must stay quiet on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    examples: list[Text] = Field(min_length=1)


_FRIENDLY = {
    "extra_forbidden": "unknown field (check the spelling; allowed: {allowed})",
    "missing": "is required",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "string_pattern_mismatch": "must be lower-case letters, digits and dashes",
}


def _friendly(err: Any, model_fields: list[str]) -> str:
    loc = err["loc"]
    kind = err["type"]
    if loc and loc[-1] == "weight" and kind not in ("extra_forbidden", "missing"):
        return "must be a number between 0 and 1"
    if kind == "too_short":
        return f"needs at least {err['ctx']['min_length']} item(s)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {err['ctx']['max_length']} characters"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in _FRIENDLY:
        return _FRIENDLY[kind].format(allowed=", ".join(model_fields))
    return str(err["msg"])


def _format_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_FIELDS_AT = {
    (): list(Playbook.model_fields),
    ("triggers",): list(Trigger.model_fields),
    ("examples",): list(Examples.model_fields),
}


class _Located:
    """Plain data built from YAML nodes, remembering where each value stood."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.marks: dict[tuple[Any, ...], tuple[int, int]] = {}
        self.key_marks: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._seen: set[int] = set()

    def error(self, node: yaml.Node, path: tuple[Any, ...], message: str) -> PlaybookError:
        mark = node.start_mark
        line, column = mark.line + 1, mark.column + 1
        return PlaybookError(self.source, line, column, _format_path(path), message)

    def build(self, loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.Node,
              path: tuple[Any, ...]) -> Any:
        if id(node) in self._seen:
            raise self.error(node, path, "anchors and aliases (& and *) are not allowed")
        self._seen.add(id(node))
        if len(path) > MAX_DEPTH:
            raise self.error(node, path, f"nested deeper than {MAX_DEPTH} levels")
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error(key_node, path, "keys must be plain words")
                key = key_node.value
                if key in out:
                    raise self.error(key_node, path + (key,), "appears twice")
                self.key_marks[path + (key,)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = self.build(loader, value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(loader, item, path + (i,)) for i, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    def where(self, loc: tuple[Any, ...]) -> tuple[int, int]:
        if loc in self.key_marks:
            return self.key_marks[loc]
        while loc and loc not in self.marks:
            loc = loc[:-1]
        return self.marks.get(loc, (1, 1))


def parse_playbook(source: str, text: str) -> Playbook:
    """Validate one playbook file's text; `source` is the name used in errors."""
    return parse_document(source, text, Playbook, _FIELDS_AT)


def locate_playbook(source: str, text: str) -> tuple[Playbook, Positions]:
    """`parse_playbook`, and where each value stood, for errors found after validating."""
    return parse_located(source, text, Playbook, _FIELDS_AT)


def _unindexed(source: str, playbook: Playbook, marks: Positions) -> list[PlaybookError]:
    """An error for each of the playbook's regexes without a literal piece to index it by;
    the caller keeps the first `MAX_UNINDEXED_REGEXES` of a set and reports the rest."""
    found = []
    for number, trigger in enumerate(playbook.triggers):
        if trigger.regex is not None and not required_grams(trigger.regex):
            line, column = marks.get(("triggers", number, "regex"), (1, 1))
            found.append(PlaybookError(
                source, line, column, f"triggers[{number}].regex",
                f"more than {MAX_UNINDEXED_REGEXES} regexes in the set have no literal text "
                "of three characters that every match contains, and each of those runs on "
                "every message; put a literal word in this one"))
    return found


_BACKGROUND_FIELDS: dict[tuple[str, ...], list[str]] = {(): list(Background.model_fields)}


def parse_background(source: str, text: str) -> Background:
    """Validate the background chatter file (`background.yaml`)."""
    return parse_document(source, text, Background, _BACKGROUND_FIELDS)


D = TypeVar("D", bound=BaseModel)


Positions = Mapping[tuple[Any, ...], tuple[int, int]]
"""(line, column) of each value in a file, by its path of keys and list positions."""


def parse_document(source: str, text: str, model: type[D],
                   fields_at: Mapping[tuple[str, ...], list[str]],
                   loader_class: type[yaml.SafeLoader] = yaml.SafeLoader) -> D:
    """One YAML file validated by `model`, with the playbooks' located, friendly errors.

    `fields_at` holds the field names allowed under each parent path (a tuple
    of keys, list positions left out), named in "unknown field" errors.
    Other files people edit in git next to the playbooks (the prompt schedule)
    go through here too, so they get the same guarantees and messages.
    """
    return parse_located(source, text, model, fields_at, loader_class)[0]


def parse_located(source: str, text: str, model: type[D],
                  fields_at: Mapping[tuple[str, ...], list[str]],
                  loader_class: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[D, Positions]:
    """`parse_document`, and where each value of the file stood, for checks made after it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise PlaybookErrors(
            [PlaybookError(source, 1, 1, "", f"file is larger than {MAX_FILE_BYTES} bytes")]
        )
    located = _Located(source)
    fast = loader_class is yaml.SafeLoader and getattr(yaml, "__with_libyaml__", False)
    try:
        # The pure-Python reader refuses control characters with their position; libyaml
        # then builds the same nodes, with the same marks, several times faster.
        loader: yaml.SafeLoader | yaml.CSafeLoader = loader_class(text)
        if fast:
            loader = yaml.CSafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        error = PlaybookError(source, line, column, "", f"not valid YAML: character "
                              f"#x{exc.character:04x} is not allowed ({exc.reason})")
        raise PlaybookErrors([error]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise PlaybookErrors([PlaybookError(source, 1, 1, "", "file is empty")])
        if not isinstance(node, yaml.MappingNode):
            first = next(iter(model.model_fields))
            raise located.error(node, (), f"must be a mapping of fields ({first}: ...)")
        data = located.build(loader, node, ())
    except PlaybookErrors:
        raise
    except PlaybookError as exc:
        raise PlaybookErrors([exc]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        error = PlaybookError(source, line, col, "", f"not valid YAML: {what}")
        raise PlaybookErrors([error]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        error = PlaybookError(source, 1, 1, "", f"not valid YAML: {message}")
        raise PlaybookErrors([error]) from None
    finally:
        loader.dispose()
    try:
        return model.model_validate(data), located.marks
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            parent = tuple(p for p in loc[:-1] if isinstance(p, str))
            fields = fields_at.get(parent, [])
            line, col = located.where(loc)
            message = _friendly(err, fields)
            errors.append(PlaybookError(source, line, col, _format_path(loc), message))
        raise PlaybookErrors(errors) from None


def parse_playbooks(documents: Iterable[tuple[str, str]]) -> list[Playbook]:
    """Validate a whole set: every file, then that ids are unique across files."""
    errors: list[PlaybookError] = []
    playbooks: list[Playbook] = []
    first_seen: dict[str, str] = {}
    unindexed: list[PlaybookError] = []
    for source, text in documents:
        try:
            playbook, marks = locate_playbook(source, text)
        except PlaybookErrors as exc:
            errors.extend(exc.errors)
            continue
        if playbook.id in first_seen:
            line = _line_of_id(text)
            errors.append(
                PlaybookError(source, line, 5, "id", f"'{playbook.id}' is already used by "
                              f"{first_seen[playbook.id]}")
            )
            continue
        first_seen[playbook.id] = source
        playbooks.append(playbook)
        unindexed.extend(_unindexed(source, playbook, marks))
    errors.extend(unindexed[MAX_UNINDEXED_REGEXES:])
    if errors:
        raise PlaybookErrors(errors)
    return playbooks


def _line_of_id(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("id:"):
            return number
    return 1
