"""Turning chat text into the tokens the matcher compares.

Slack, Teams and people all decorate text differently; everything that is not
words (markup, mentions, emoji codes, HTML) is removed here once, so the rest of
the matcher can assume plain lower-case words. The adapters decode what arrives
over the wire into what a person sees (mentions as names, the bot's own mention
dropped); this still strips markup because much of what the matcher reads never
passed an adapter: playbook examples, background lines and evaluation sets are chat
text as people paste it, `<#C1|sales>` and `<at>` tags included.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 4000
"""Only the first this many characters of a message are read: guidance is
about the gist, and a pasted log must not cost more than a sentence."""

_SLACK_LINK = re.compile(r"<(https?://|mailto:)[^|>]*\|([^>]*)>")
_SLACK_BARE_LINK = re.compile(r"<(?:https?://|mailto:)[^>]*>")
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_SLACK_SPECIAL = re.compile(r"<[@#!][^>]*>")
_TEAMS_AT = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_URL = re.compile(r"https?://\S+")
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_WORD = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from into onto about as
    is am are was were be been being do does did doing have has had having i me my
    we us our you your he him his she her it its they them their this that these
    those there here so than then too very just also all any some what which who
    whom whose when where why how can could would should will shall may might must
    up out over again only own same s t don isnt im ive id ill youre theyre were
    thats its lets get got gonna wanna hey hi hello pls please thanks thank ok okay
    yeah yes no not re fyi btw""".split()
)


def plain(text: str) -> str:
    """Lower-case text with chat markup removed (labels of links kept), punctuation kept."""
    text = text[:MAX_CHARS]
    text = _TEAMS_AT.sub(" ", text)
    text = _SLACK_LINK.sub(r" \2 ", text)
    text = _SLACK_CHANNEL.sub(r" \1 ", text)
    text = _SLACK_BARE_LINK.sub(" ", text)
    text = _SLACK_SPECIAL.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" ", text)
    return _EMOJI.sub(" ", text)


def clean(text: str) -> str:
    """Plain, lower-case words separated by single spaces."""
    return clean_plain(plain(text))


def clean_plain(body: str) -> str:
    """`clean` for text that has been through `plain` already."""
    return " ".join(_WORD.findall(_APOSTROPHE.sub("", body)))


_IRREGULAR = {
    "said": "say", "says": "say", "told": "tell", "bought": "buy", "sent": "send",
    "spoke": "speak", "spoken": "speak", "met": "meet", "gave": "give", "given": "give",
    "went": "go", "gone": "go", "got": "get", "gotten": "get", "left": "leave",
    "paid": "pay", "felt": "feel", "thought": "think", "brought": "bring", "sold": "sell",
    "lost": "lose", "won": "win", "wrote": "write", "written": "write", "took": "take",
    "taken": "take", "ran": "run", "came": "come", "made": "make", "kept": "keep",
    "heard": "hear", "asked": "ask", "knew": "know", "known": "know", "saw": "see",
    "seen": "see", "chose": "choose", "chosen": "choose", "better": "good",
    "worse": "bad", "worst": "bad", "best": "good", "happier": "happy", "angrier": "angry",
    "children": "child", "people": "person", "men": "man", "women": "woman",
}
_VOWELS = frozenset("aeiouy")


def _has_vowel(word: str) -> bool:
    return any(ch in _VOWELS for ch in word)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A small suffix stripper: enough that call, calls, called and calling agree.

    It only has to map inflections of one word to one key, the same way for the
    playbooks and for the messages; the key need not be an English word. Remembered,
    because a large set stems the same few thousand words hundreds of thousands of times.
    """
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha() or not word.isascii():
        return word
    if word.endswith(("ies", "ied")):
        word = word[:-3] + "i"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) >= 6 and _has_vowel(word[:-3]):
        word = word[:-3]
    elif word.endswith("ed") and not word.endswith("eed") and len(word) >= 5:
        if _has_vowel(word[:-2]):
            word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ly") and len(word) >= 6:
        word = word[:-2]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz" + "aeiou":
        word = word[:-1]
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 4 and word.endswith("y") and word[-2] not in _VOWELS:
        word = word[:-1] + "i"
    return word


def words(text: str) -> list[str]:
    """The cleaned words of a message, in order."""
    return clean(text).split()


def deletes(word: str) -> set[str]:
    """Every string one deletion away: two words within one edit share one."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
