"""Try it and Playbooks: what the bot would answer, and what each playbook says.

Trying a message runs the real handler and matcher, but on a throwaway
in-memory store and without the server's observer: nothing is posted, no
counter or metric moves, no cooldown starts, and the manager's test does not
show up among the questions no playbook answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from adapters.bodies import read_form
from bot.handler import Handler, HandlerSettings
from bot.library import PlaybookSet
from bot.matcher import Candidate, Evidence, MatchResult, Mode
from bot.memory_store import MemoryStore
from bot.messages import Kind, Message, Platform, Reply
from bot.playbooks import Playbook
from bot.replies import playbook_reply
from touchpoint.reload import when
from touchpoint.web import auth
from touchpoint.web.chat import conversation, slack_message, teams_message
from touchpoint.web.context import context, live
from touchpoint.web.html import PREFIX, Html, Node, el, page

Where = Literal["command", "channel", "shortcut"]
WHERE: dict[str, str] = {"command": "Slash command", "channel": "Channel message",
                         "shortcut": "Message action (\"Find a playbook for this message\")"}
MAX_TEXT = 4000
"""Characters of a tried message: the matcher reads no more than this."""
NEAR_MISSES = 5
PLATFORMS: tuple[Platform, ...] = ("slack", "teams")


@dataclass(frozen=True)
class Trial:
    """A message as the bot would take it, on both platforms."""

    text: str
    where: Where
    result: MatchResult
    """The decision in the mode the bot uses there (guide for a command, nudge in a channel)."""
    other: MatchResult
    vetoed: tuple[tuple[str, Evidence], ...]
    answers: Mapping[str, Sequence[Reply]]


def _kind(where: Where, platform: str) -> Kind:
    """A slash command in Slack is an @mention in Teams: the handler treats them differently."""
    if where in ("channel", "shortcut"):
        return where
    return "command" if platform == "slack" else "mention"


async def trial(playbooks: PlaybookSet, text: str, where: Where,
                settings: HandlerSettings, pressed: str = "") -> Trial:
    """Everything the page shows about one message, with side effects on nothing shared;
    `pressed`, a playbook id, adds what its "show" button (the whole playbook, or the
    runner-up) answers, through the handler's own button path."""
    matcher = playbooks.matcher
    seen = matcher.observe(text)
    mode: Mode = "nudge" if where == "channel" else "guide"
    result = matcher.decide(seen, mode)
    other = matcher.decide(seen, "nudge" if mode == "guide" else "guide")
    vetoed = tuple((matcher.ids[i], e) for i, e in sorted(seen.vetoed.items()))
    answers: dict[str, Sequence[Reply]] = {}
    for platform in PLATFORMS:
        handler = Handler(playbooks, MemoryStore(), settings)
        message = Message(text=text, user="manager", channel="try-it", platform=platform,
                          kind=_kind(where, platform))
        answers[platform] = await handler.handle(message)
        if pressed in playbooks.by_id:
            answers[platform] = [*answers[platform], *await handler.handle(Message(
                text="show", user="manager", channel="try-it", platform=platform,
                kind="action", value=pressed))]
    return Trial(text, where, result, other, vetoed, answers)


def evidence_list(why: Sequence[Evidence]) -> Html:
    items = [el("li", el("span", e.kind.replace("_", " "), class_=f"kind {e.kind}"), " ",
                str(e), data_kind=e.kind) for e in why]
    return el("ul", items or [el("li", "no single trigger")], class_="evidence")


def _score(candidate: Candidate) -> Html:
    return el("span", el("meter", value=min(1.0, candidate.score), min=0, max=1),
              f" {candidate.score:.2f}", class_="score", data_score=f"{candidate.score:.4f}")


def decision(playbooks: PlaybookSet, found: Trial) -> Html:
    """The playbook, its score and evidence; what the other mode would do; the near misses."""
    tuning = playbooks.matcher.tuning
    result = found.result
    need = tuning.guide_threshold if result.mode == "guide" else tuning.nudge_threshold
    if result.best is not None:
        best = result.best
        title = playbooks.by_id[best.playbook].title
        head: Node = [el("h3", "Playbook: ", el("a", title, href=f"{PREFIX}/playbooks/"
                                                 f"{best.playbook}", class_="playbook",
                                                 data_playbook=best.playbook)),
                      el("p", _score(best), f" (needs {need:.2f} in {result.mode} mode)")]
        body: Node = [el("h4", "Why"), evidence_list(best.why)]
    else:
        head = [el("h3", "No playbook", class_="playbook", data_playbook=""),
                el("p", f"Nothing reached {need:.2f} in {result.mode} mode.")]
        body = None
    other = found.other
    if other.mode == "nudge":
        said = (f"would nudge with {other.best.playbook} ({other.best.score:.2f})"
                if other.best else "would stay quiet")
        aside = f"As a channel message it {said}."
    else:
        said = (f"would answer with {other.best.playbook} ({other.best.score:.2f})"
                if other.best else "would find no playbook")
        aside = f"As a slash command it {said}."
    vetoes = [el("li", f"{pid}: {e}") for pid, e in found.vetoed]
    misses = [c for c in result.candidates if c is not result.best][:NEAR_MISSES]
    rows = [el("tr", el("td", el("a", c.playbook, href=f"{PREFIX}/playbooks/{c.playbook}")),
               el("td", _score(c)), el("td", evidence_list(c.why)), class_="near-miss",
               data_playbook=c.playbook) for c in misses]
    near: Node = el("p", "No other playbook scored.") if not rows else el(
        "table", el("thead", el("tr", el("th", "playbook"), el("th", "score"),
                                el("th", "evidence"))), el("tbody", rows), class_="misses")
    return el("section", head, body, el("p", aside, class_="aside"),
              el("div", el("h4", "Vetoed"), el("ul", vetoes)) if vetoes else None,
              el("h4", "Near misses"), near, class_="decision")


def try_form(request: web.Request, text: str, where: Where) -> Html:
    choices = [el("label", el("input", type="radio", name="where", value=key,
                              checked=key == where), label) for key, label in WHERE.items()]
    return el("form", el("label", "What happened, as someone would type it", for_="text"),
              el("textarea", text, name="text", id="text", rows=3, maxlength=MAX_TEXT,
                 required=True, placeholder="they said our quote is way above the other vendor"),
              el("fieldset", el("legend", "Sent as"), choices),
              auth.csrf_field(request), el("button", "Try it", type="submit"),
              method="post", action=f"{PREFIX}/", class_="try")


async def try_it(request: web.Request) -> web.Response:
    """`GET /manage/` (optionally `?text=...&where=...`) and `POST /manage/`: try a message."""
    ctx = context(request)
    form: Mapping[str, object] = await read_form(request) if request.method == "POST" \
        else request.query
    text = str(form.get("text", ""))[:MAX_TEXT]
    asked = form.get("where")
    where: Where = "channel" if asked == "channel" else (
        "shortcut" if asked == "shortcut" else "command")
    answer: Node = el("p", "Type a message the way someone would, and see what the bot would "
                      "answer in Slack and Teams, with the playbook, its score and why.",
                      class_="hint")
    if text.strip():
        playbooks = ctx.handler.playbooks
        pressed = str(form.get("value", "")) if form.get("press") == "show" else ""
        found = await trial(playbooks, text, where, HandlerSettings(
            nudge_cooldown=ctx.handler.settings.nudge_cooldown), pressed)
        chats = [el("div", el("h4", name.title()), conversation(name, text, where,
                                                                found.answers[name]),
                    class_="platform") for name in PLATFORMS]
        answer = el("div", el("div", chats, class_="platforms"), decision(playbooks, found),
                    class_="answer")
    body = [el("h1", "Try a message"), try_form(request, text, where), answer]
    return respond(request, "Try it", "try", body)


def respond(request: web.Request, title: str, active: str, body: Node, *, status: int = 200,
            notice: str = "") -> web.Response:
    """A view in the shared frame, with the sign-out form when signed in with the cookie."""
    text = page(title, active, body, csrf=auth.csrf_value(request),
                signed_in=auth.signed_in(request), notice=notice)
    return web.Response(text=text, status=status, content_type="text/html")


def status_header(request: web.Request) -> Html:
    """What is live, from where, and the errors of the last rejected change, if any."""
    ctx = context(request)
    playbooks = ctx.handler.playbooks
    following = live(request)
    facts: list[Node] = [el("li", f"{len(playbooks.playbooks)} playbooks live",
                            el("span", f", version {playbooks.version[:12]}", class_="version",
                               title=playbooks.version) if playbooks.version else None)]
    errors: Sequence[str] = ()
    if following is not None:
        git = following.git
        if git is not None:
            commit = (f"live commit {git.commit[:12]}" + (f' "{git.subject}"' if git.subject
                                                          else "")) if git.commit else \
                "no commit loaded yet"
            facts.append(el("li", f"following {git.describe()}: {commit}",
                            class_="commit", data_commit=git.commit))
            if git.problem:
                errors = [git.problem]
        facts.append(el("li", f"from {following.reloader.folder}, loaded "
                        f"{when(following.reloader.loaded_at)}"))
        rejected = following.reloader.rejected
        if rejected is not None:
            errors = [*errors, *rejected.errors]
    if ctx.preview:
        facts.append(el("li", "preview: in-memory store, no Slack or Teams"))
    alert = el("div", el("b", "The last change was rejected; the playbooks above are still "
                         "served."), el("ul", [el("li", e) for e in errors]),
               class_="error", role="alert") if errors else None
    reload = el("form", auth.csrf_field(request), el("button", "Reload now", type="submit"),
                method="post", action=f"{PREFIX}/reload", class_="inline") \
        if following is not None else None
    return el("div", el("ul", facts, class_="facts"), reload, alert, class_="status")


def playbook_body(playbook: Playbook) -> Html:
    triggers = [el("li", el("span", t.kind, class_=f"kind {t.kind}"), " ", el("code", t.text),
                   f" {t.weight:.2f}" if t.veto is None else None) for t in playbook.triggers]
    examples = playbook.examples
    return el("div",
              el("p", playbook.summary, class_="summary"),
              el("h4", "What to do"), el("ol", [el("li", g) for g in playbook.guidance],
                                         class_="steps"),
              el("h4", "In a channel it says"), el("blockquote", playbook.nudge, class_="nudge"),
              el("h4", "Daily prompts"), el("ul", [el("li", p) for p in playbook.prompts]),
              el("h4", "Triggers"), el("ul", triggers or [el("li", "none: examples only")],
                                       class_="triggers"),
              el("h4", "Examples"),
              _examples("Examples that must match", examples.match, "match"),
              _examples("Near misses that must not", examples.no_match, "no_match"),
              class_="playbook-body")


def _examples(title: str, texts: Sequence[str], kind: str) -> Html:
    """Folded: a playbook has dozens; each opens in Try it to see how it scores."""
    return el("details", el("summary", el("b", title), f" ({len(texts)})"),
              el("ul", [el("li", el("a", e, href=_try_link(e))) for e in texts],
                 class_="examples"), class_=f"examples {kind}")


def _try_link(text: str) -> str:
    from urllib.parse import urlencode

    return f"{PREFIX}/?" + urlencode({"text": text, "where": "command"})


async def playbook_list(request: web.Request) -> web.Response:
    playbooks = context(request).handler.playbooks.playbooks
    items = [el("details", el("summary", el("b", p.title), " ", el("code", p.id), " ",
                              el("span", p.summary, class_="muted"), " ",
                              el("a", "open", href=f"{PREFIX}/playbooks/{p.id}", class_="open",
                                 data_playbook=p.id, title=f"{p.title} on a page of its own")),
                playbook_body(p), id=p.id, class_="playbook") for p in playbooks]
    notice = {"ok": "Reloaded: the new playbooks are live.",
              "unchanged": "Reloaded: nothing had changed."}.get(
        request.query.get("reload", ""), "")  # a rejection shows as the alert at the top
    body = [el("h1", "Playbooks"), status_header(request), items]
    return respond(request, "Playbooks", "playbooks", body, notice=notice)


async def playbook_detail(request: web.Request) -> web.Response:
    playbooks = context(request).handler.playbooks
    playbook = playbooks.by_id.get(request.match_info["id"])
    if playbook is None:
        body = [el("h1", "No such playbook"),
                el("p", el("a", "Every playbook", href=f"{PREFIX}/playbooks"))]
        return respond(request, "Not found", "playbooks", body, status=404)
    shown = playbook_reply(playbook)
    previews = el("div", el("div", el("h4", "Slack"), el("div", slack_message(shown),
                                                           class_="chat slack"),
                            class_="platform"),
                  el("div", el("h4", "Teams"), el("div", teams_message(shown),
                                                  class_="chat teams"), class_="platform"),
                  class_="platforms")
    body = [el("p", el("a", "← every playbook", href=f"{PREFIX}/playbooks")),
            el("h1", playbook.title, " ", el("code", playbook.id)), playbook_body(playbook),
            el("h3", "How “show” looks"), previews]
    return respond(request, playbook.title, "playbooks", body)


async def reload(request: web.Request) -> web.Response:
    """`POST /manage/reload`: load the playbooks again now, as `/touchpoint reload` does."""
    following = live(request)
    if following is None:
        raise web.HTTPSeeOther(f"{PREFIX}/playbooks")
    outcome = await following.reload("the manager page")
    state = "rejected" if not outcome.ok else ("ok" if outcome.changed else "unchanged")
    raise web.HTTPSeeOther(f"{PREFIX}/playbooks?reload={state}")
