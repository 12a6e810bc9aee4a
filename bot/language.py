"""Is a message written in English? The playbooks and the matcher only know English.

A French message shares a few words with the examples ("client", "prix") and
would get a confident, wrong playbook; saying "English only, for now" is
better. The test is light on purpose: common function words of a few European
languages, counted against English ones, and the share of letters outside the
Latin alphabet. Words that are also English ("a", "on", "die", "was", "van")
are left out, so an English message with a foreign name or phrase in it stays
English.
"""

from __future__ import annotations

import re
import unicodedata

from bot.text import plain

ENGLISH = frozenset("""
    the and or but of to on at by for with from about are were be been being
    have has had do does did not this that these those they them their we our us you your
    he she his her it its i my what when where why how which who can could would should
    just if there here then than some any all very too get got said says
    asked wants want need needs""".split())

OTHERS: dict[str, frozenset[str]] = {
    "French": frozenset("""
        le les une des du et sont pas que qui nous vous ils elles elle je dans avec
        sur au aux ce cette ces mais ou très trop notre leur leurs mon mes
        tes votre vos cest jai sommes avons ont fait veut dit merci bonjour beaucoup
        aussi déjà être avoir""".split()),
    "German": frozenset("""
        der das und ist nicht ein eine einen einem dem des auf für von zu ich wir
        ihr uns auch aber oder wie sehr haben sind wird wurde noch schon nach bei kein
        keine unser unsere danke bitte hallo möchte""".split()),
    "Spanish": frozenset("""
        el los las una unos unas es que del por para muy pero está están dice dijo
        como más nuestro nuestra nosotros ellos ella tiene quiere gracias hola también
        porque cuando""".split()),
    "Italian": frozenset("""
        il gli di della delle dei che sono abbiamo molto questo questa anche
        perché grazie ciao nostro nostra loro vuole dice è""".split()),
    "Portuguese": frozenset("""
        uma é dos das que não para mas muito disse nós eles ela está são obrigado
        obrigada também nosso nossa você quer""".split()),
    "Dutch": frozenset("""
        het een niet voor dat wij zij ik hij ze maar ook zijn heeft hebben wil
        bedankt hallo onze""".split()),
}

MIN_HITS = 2
"""Foreign function words needed before a message is called foreign."""
LATIN_END = 0x24F
"""Letters above this (Cyrillic, Greek, Arabic, Chinese ...) are not in any English word."""

_WORD = re.compile(r"[^\W\d_]+")


def foreign_language(text: str) -> str | None:
    """The language a message seems to be written in when that is clearly not English
    (`French`, or a script such as `Cyrillic`); None for English, or when unsure."""
    body = plain(text)
    letters = [c for c in body if c.isalpha()]
    other = [c for c in letters if ord(c) > LATIN_END]
    if len(other) >= 4 and len(other) * 2 >= len(letters):
        return _script(other)
    words = _WORD.findall(body.replace("'", "").replace("\u2019", ""))
    english = sum(word in ENGLISH for word in words)
    hits = {name: sum(word in known for word in words) for name, known in OTHERS.items()}
    name, found = max(hits.items(), key=lambda item: item[1])
    if found >= MIN_HITS and found >= 2 * english + 1:
        return name
    return None


def _script(letters: list[str]) -> str:
    """The most common script among non-Latin letters: a language where the script
    says it (`Japanese`), else the script (`Cyrillic script`)."""
    counts: dict[str, int] = {}
    for letter in letters:
        script = unicodedata.name(letter, "OTHER LETTER").split()[0].title()
        script = {"Cjk": "Chinese", "Hiragana": "Japanese", "Katakana": "Japanese",
                  "Hangul": "Korean", "Greek": "Greek", "Thai": "Thai"}.get(
                      script, f"{script} script")
        counts[script] = counts.get(script, 0) + 1
    return max(counts.items(), key=lambda item: item[1])[0]
