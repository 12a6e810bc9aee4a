"""The wording of every answer, kept apart from the decisions in the handler."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from bot import feedback
from bot.lexicon import SPOKEN
from bot.matcher import Candidate, MatchResult
from bot.messages import Button, Reply, Section
from bot.playbooks import Playbook

MAX_ECHO = 200
MAX_EXAMPLE = 120
MAX_REASONS = 3


def command_prefix(platform: str) -> str:
    return "@Touchpoint" if platform == "teams" else "/touchpoint"


def echo(text: str) -> str:
    """A user's words quoted back, shortened to one line."""
    return _shorten(text, MAX_ECHO)


def help_reply(platform: str) -> Reply:
    cmd = command_prefix(platform)
    lines = (
        f"{cmd} <what happened>: guidance for a customer moment, e.g. "
        f"{cmd} the client says our quote is too high",
        f"{cmd} list: every playbook",
        f"{cmd} show <id>: one playbook in full",
        f"{cmd} mute / {cmd} unmute: stop or resume nudges to you in channels",
        f"{cmd} nudges off / {cmd} nudges on: stop or resume nudges in this channel",
        f"{cmd} subscribe 09:00 Europe/Berlin [mon-fri]: a daily brand-promise prompt here; "
        f"{cmd} unsubscribe stops it",
    )
    return Reply(
        text="Touchpoint coaches you at the moment you touch a customer.",
        sections=(
            Section(
                title="Everyone sells",
                text="Every reply, booth, gift and call keeps the brand promise or breaks it. "
                "Tell me what happened and I'll suggest what to do next.",
            ),
            Section(title="Commands", text="", bullets=lines),
        ),
        ephemeral=True,
    )


def welcome_reply(platform: str) -> Reply:
    """What the bot says once when it joins a conversation: what it is for, and how to start."""
    cmd = command_prefix(platform)
    return Reply(
        text="Hi, I'm Touchpoint: I suggest what to do next when you touch a customer.",
        sections=(
            Section(
                text=f"Tell me what happened, e.g. {cmd} the client says our quote is too "
                f"high. {cmd} help lists the commands; {cmd} mute stops my nudges to you.",
            ),
        ),
    )


def list_reply(playbooks: Sequence[Playbook], platform: str) -> Reply:
    bullets = tuple(f"{p.id}: {p.title} - {p.summary}" for p in playbooks)
    return Reply(
        text=f"{len(playbooks)} playbooks. Show one with {command_prefix(platform)} show <id>.",
        sections=(Section(title="Playbooks", text="", bullets=bullets),),
        ephemeral=True,
    )


def why_text(candidate: Candidate) -> str:
    """The full evidence, in the matcher's terms: for `--explain` and playbook owners."""
    reasons = "; ".join(str(e) for e in candidate.why) or "no single trigger"
    return f"Score {candidate.score:.2f}: {reasons}."


def why_line(candidate: Candidate) -> str:
    """One sentence a person can read: what they said that counted, and the closest example.

    Scores, regular expressions and feature names stay out; `why_text` has them.
    """
    triggers: list[str] = []
    for evidence in sorted((e for e in candidate.why if e.kind in ("phrase", "keyword")),
                           key=lambda e: -len(e.text)):
        if not any(evidence.text in said for said in triggers):
            triggers.append(evidence.text)
    mentioned = [f'"{said}"' for said in triggers]
    for evidence in candidate.why:
        if evidence.kind == "words":
            mentioned.extend(SPOKEN[t[1:]] for t in evidence.terms if t.startswith("@")
                             and t[1:] in SPOKEN
                             and not any(said in SPOKEN[t[1:]] for said in triggers))
    mentioned = list(dict.fromkeys(mentioned))[:MAX_REASONS]
    example = next((e.text for e in candidate.why if e.kind == "example"), "")
    closest = f'"{_shorten(example, MAX_EXAMPLE)}"' if example else ""
    if mentioned:
        said = mentioned[0] if len(mentioned) == 1 else \
            f"{', '.join(mentioned[:-1])} and {mentioned[-1]}"
        return f"Matched because you mentioned {said}" + (
            f"; closest example: {closest}." if closest else ".")
    if closest:
        return f"Matched because it reads like the example {closest}."
    if any(e.kind == "regex" for e in candidate.why):
        return "Matched because your message has a pattern this playbook looks for."
    return "Matched because it reads like this playbook's examples."


def _shorten(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def feedback_buttons(playbook: Playbook, shareable: bool, question: str = "",
                     runner_up: Playbook | None = None) -> tuple[Button, ...]:
    """"Not helpful" carries the question, for the form it opens; a close second playbook
    gets its own button (see `bot.runner_up`)."""
    buttons = (
        Button("Helpful", "helpful", playbook.id, primary=True),
        Button("Not helpful", "not_helpful", feedback.button_value(playbook.id, question)),
        Button("Show the whole playbook", "show", playbook.id),
    )
    second = (Button(f"Or: {runner_up.title}", "show", runner_up.id),) if runner_up else ()
    return ((Button("Share in channel", "share", playbook.id),) if shareable else ()) + \
        buttons + second


def guidance_reply(
    playbook: Playbook, candidate: Candidate | None, *, ephemeral: bool, in_thread: bool,
    explain: bool = False, question: str = "", runner_up: Playbook | None = None,
) -> Reply:
    """The playbook's steps and, when matched, one line saying why; `explain` adds the
    matcher's full evidence (the console's `--explain`). `question` is what was asked,
    for "Not helpful"; `runner_up` a close second playbook offered as a button."""
    sections = [
        Section(title=playbook.title, text=playbook.summary),
        Section(title="What to do", text="", bullets=tuple(playbook.guidance)),
    ]
    if candidate is not None:
        sections.append(Section(title="Why this playbook", text=why_line(candidate)))
        if explain:
            sections.append(Section(title="Evidence", text=why_text(candidate)))
    return Reply(
        text=f"{playbook.title}: {playbook.summary}",
        sections=tuple(sections),
        buttons=feedback_buttons(playbook, shareable=ephemeral, question=question,
                                 runner_up=runner_up),
        ephemeral=ephemeral,
        in_thread=in_thread,
    )


def no_match_reply(
    text: str, result: MatchResult, by_id: dict[str, Playbook], platform: str,
    *, ephemeral: bool, in_thread: bool,
) -> Reply:
    cmd = command_prefix(platform)
    close = [by_id[c.playbook] for c in result.suggestions() if c.playbook in by_id]
    sections = [
        Section(
            text=f'No playbook clearly fits "{echo(text)}". Say a little more about the '
            f"customer and what happened, or see every playbook with {cmd} list."
        )
    ]
    if close:
        sections.append(
            Section(title="Closest", text="", bullets=tuple(f"{p.id}: {p.title}" for p in close))
        )
    return Reply(
        text="No playbook clearly fits that yet.",
        sections=tuple(sections),
        buttons=tuple(Button(f"Show {p.title}", "show", p.id) for p in close),
        ephemeral=ephemeral,
        in_thread=in_thread,
    )


def not_english_reply(language: str, platform: str, *, ephemeral: bool,
                      in_thread: bool) -> Reply:
    """Said instead of guessing: the playbooks and the matcher only know English so far."""
    cmd = command_prefix(platform)
    return Reply(
        text=f"This looks like {language}, and so far I only understand English, so I "
        f"won't guess a playbook. Tell me what happened in English, or see every playbook "
        f"with {cmd} list.",
        ephemeral=ephemeral,
        in_thread=in_thread,
    )


def playbook_reply(playbook: Playbook, *, ephemeral: bool = True, in_thread: bool = False) -> Reply:
    return Reply(
        text=f"{playbook.title}: {playbook.summary}",
        sections=(
            Section(title=playbook.title, text=playbook.summary),
            Section(title="What to do", text="", bullets=tuple(playbook.guidance)),
            Section(title="In a channel I say", text=playbook.nudge),
            Section(title="Daily prompts", text="", bullets=tuple(playbook.prompts)),
            Section(
                title="For example",
                text="",
                bullets=tuple(playbook.examples.match[:5]),
            ),
        ),
        buttons=feedback_buttons(playbook, shareable=ephemeral),
        ephemeral=ephemeral,
        in_thread=in_thread,
    )


def nudge_reply(playbook: Playbook) -> Reply:
    return Reply(
        text=playbook.nudge,
        sections=(Section(text=playbook.nudge),),
        buttons=(Button("Show the whole playbook", "show", playbook.id),),
        in_thread=True,
    )


def unknown_playbook_reply(name: str, known: Sequence[str], platform: str) -> Reply:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return Reply(
        text=f'There is no playbook "{echo(name)}".{hint} '
        f"See them all with {command_prefix(platform)} list.",
        ephemeral=True,
    )


def notice(text: str) -> Reply:
    return Reply(text=text, ephemeral=True)


def call_ended_reply(
    checklist: Playbook | None, matched: Playbook | None, customer: str, owner: str
) -> Reply:
    sections = []
    if checklist is not None:
        sections.append(
            Section(title="After the call", text="", bullets=tuple(checklist.guidance))
        )
    if matched is not None and matched is not checklist:
        sections.append(
            Section(title=matched.title, text=matched.summary, bullets=tuple(matched.guidance))
        )
    who = f" with {echo(customer)}" if customer else ""
    buttons = (Button("Show the whole playbook", "show", matched.id),) if matched else ()
    return Reply(
        text=f"The call{who} just ended. A same-day recap keeps the promise.",
        sections=tuple(sections),
        buttons=buttons,
        user=owner,
    )
