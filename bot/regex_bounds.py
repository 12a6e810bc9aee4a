"""What a trigger's regular expression costs, read from the pattern before it is compiled.

The `regex` module expands a counted repeat into copies of what it repeats, so
`a{10000000}` takes gigabytes to compile and `x{4294967294}` more than any
machine has; a pattern is therefore sized from its parse tree first, and one
too big is refused with a message instead of compiled. The same tree tells
which text every match must contain, which the index keys expressions by.

Patterns are parsed with the standard library's parser (`re._parser`, private
and so guarded); the `regex` dialect is wider, and a pattern that parser does
not read is sized from its text instead, more strictly.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import regex

try:
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # moved or gone in a later Python: size from the text alone
    _sre_parse = None

MAX_COUNT = 1000
"""The largest count a repeat may give (`{m,n}`): more is no phrase a person types."""
MAX_SIZE = 5000
"""The most pieces a pattern may expand to once its counted repeats are written out
(`(ab){3}` is 6): `(a{1000}){1000}` alone would take 275 MB to compile."""
PROBE_CHARS = 4000
"""The longest adversarial text a pattern is tried on: the longest message the matcher
reads (`bot.text.MAX_CHARS`)."""

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_COUNTED = re.compile(r"(?<!\\)\{(\d*)(?:,(\d*))?\}")


def size_problem(pattern: str) -> str | None:
    """Why `pattern` is too costly to compile, or None when it is fine."""
    parsed = _parse(pattern)
    if parsed is None:
        return _size_problem_from_text(pattern)
    try:
        _size(parsed)
    except _TooBig as exc:
        return str(exc)
    return None


class _TooBig(Exception):
    pass


def _size(items: Any) -> int:
    total = 0
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            finite = high != _sre_parse.MAXREPEAT
            if low > MAX_COUNT or (finite and high > MAX_COUNT):
                raise _TooBig(f"a repeat count above {MAX_COUNT} is not allowed")
            total += _size(sub) * max(1, high if finite else low + 1)
        elif name == "SUBPATTERN":
            total += _size(arg[-1])
        elif name == "BRANCH":
            total += sum(_size(alternative) for alternative in arg[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            total += _size(arg[1])
        elif name == "ATOMIC_GROUP":
            total += _size(arg)
        elif name == "GROUPREF_EXISTS":
            total += _size(arg[1]) + (_size(arg[2]) if arg[2] is not None else 0)
        else:
            total += 1
        if total > MAX_SIZE:
            raise _TooBig(f"its repeats make it too big to compile (more than {MAX_SIZE} "
                          "pieces once written out); repeat less, or nest fewer counted repeats")
    return total


def _size_problem_from_text(pattern: str) -> str | None:
    """Without a parse tree every counted repeat may nest in every other: multiply them all."""
    size = len(pattern)
    for low, high in _COUNTED.findall(pattern):
        counts = [int(n) for n in (low, high) if n]
        if any(n > MAX_COUNT for n in counts):
            return f"a repeat count above {MAX_COUNT} is not allowed"
        size *= max([1, *counts])
        if size > MAX_SIZE:
            return (f"its repeats make it too big to compile (more than {MAX_SIZE} pieces "
                    "once written out); repeat less, or nest fewer counted repeats")
    return None


def _parse(pattern: str) -> Any:
    if _sre_parse is None:
        return None
    try:
        return _sre_parse.parse(pattern, re.IGNORECASE)
    except Exception:  # the `regex` dialect is wider than `re`'s: size it from its text
        return None


def required_grams(pattern: str) -> set[str]:
    """Three-character pieces of lower-case text that every match must contain."""
    parsed = _parse(pattern)
    if parsed is None:
        return set()
    return {
        literal[i : i + 3]
        for literal in _required_literals(list(parsed))
        for i in range(len(literal) - 2)
    }


def _required_literals(items: list[Any]) -> list[str]:
    out: list[str] = []
    run = ""
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run += chr(arg).lower()
            continue
        if run:
            out.append(run)
            run = ""
        if name == "SUBPATTERN":
            out.extend(_required_literals(list(arg[-1])))
        elif name in _REPEATS and arg[0] >= 1:
            out.extend(_required_literals(list(arg[2])))
    if run:
        out.append(run)
    return out


def backtracks(pattern: str, timeout: float) -> str | None:
    """An adversarial text on which a search for `pattern` runs past `timeout` seconds
    (twice, so one stall of a busy machine does not count), or None.

    The texts repeat a piece the pattern could match (each of its characters and
    literal runs, a letter, a digit, a space) up to the longest message the matcher
    reads (after each literal run, for a pattern that starts with one), then end in a
    character that makes the match fail: what makes nested or
    overlapping repeats, `(a|aa)+$` or `(\\w|\\w)*$`, try every way to split the text.
    """
    compiled = regex.compile(pattern, regex.IGNORECASE)
    for text in _adversarial(pattern):
        if _too_slow(compiled, text, timeout) and _too_slow(compiled, text, timeout):
            return text
    return None


def _too_slow(compiled: Any, text: str, timeout: float) -> bool:
    try:
        compiled.search(text, timeout=timeout)
    except TimeoutError:
        return True
    return False


def _adversarial(pattern: str) -> Iterator[str]:
    parsed = _parse(pattern)
    runs = list(dict.fromkeys(_literal_runs(parsed))) if parsed is not None else []
    chars = [c for c in pattern.lower() if c.isalnum() or c in string.punctuation + " "]
    pieces = dict.fromkeys(["a", "1", " ", "a ", *runs, *chars])
    for prefix in ["", *runs]:
        for piece in pieces:
            for end in ("!", "\n"):
                if piece and end not in piece:
                    count = (PROBE_CHARS - len(prefix) - 1) // len(piece)
                    yield prefix + piece * count + end


def _literal_runs(items: Any) -> Iterator[str]:
    """Every run of literal characters anywhere in a parsed pattern, lower-cased."""
    run = ""
    for op, arg in items:
        if str(op) == "LITERAL":
            run += chr(arg).lower()
            continue
        if run:
            yield run
            run = ""
        parts = [arg] if hasattr(arg, "data") else arg if isinstance(arg, tuple | list) else ()
        for part in parts:
            if isinstance(part, list):  # a branch's alternatives
                for alternative in part:
                    yield from _literal_runs(alternative)
            elif hasattr(part, "data"):  # a nested SubPattern
                yield from _literal_runs(part)
    if run:
        yield run
