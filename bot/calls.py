"""A customer call that ended, whoever reported it (Gong, Zoom, a CRM), and what it calls for.

The sources' payloads are read at the edge into a `Call`; what follows is
decided here, without I/O: whether it was a customer call at all, which of
its words the matcher reads, and which playbook they point to. A `Call` is
also what waits in the store's outbox until it is posted, so it travels as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Literal

from bot.matcher import Candidate, Matcher

Source = Literal["gong", "zoom", "hook"]
SOURCES: tuple[Source, ...] = ("gong", "zoom", "hook")
CHECKLIST = "post-call"
"""The playbook every call gets; the matcher may add one more."""


@dataclass(frozen=True)
class Call:
    """What is known about one ended call; empty strings for what the source did not say.

    `platform` and `channel` are set only when the sender chose them (Touchpoint's
    own webhook); otherwise routing picks a channel or the owner's direct messages.
    `owner` is a platform user id the sender gave; `owner_email` is looked up.
    `texts` are the call's own words, each matched on its own: its title, its
    brief, the topics and trackers Gong found in it.
    """

    source: Source
    id: str
    customer: str
    texts: tuple[str, ...] = ()
    owner: str = ""
    owner_email: str = ""
    platform: str = ""
    channel: str = ""
    workspace: str = ""
    account: str = ""
    crm_owner: str = ""
    host: str = ""
    url: str = ""
    accepted: float = 0.0
    """Unix time the delivery was accepted: no earlier post can be this call's nudge."""

    @property
    def key(self) -> str:
        """The outbox and claim key: the same call or delivery re-sent has the same one."""
        return f"call:{self.source}:{self.id}"

    @property
    def domain(self) -> str:
        return self.owner_email.rpartition("@")[2].lower() if "@" in self.owner_email else ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Call:
        """The call an outbox entry holds; `ValueError` for anything else (a damaged entry)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("an outbox entry must be a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        texts = values.pop("texts", [])
        accepted = values.pop("accepted", 0.0)
        if isinstance(accepted, bool) or not isinstance(accepted, int | float):
            raise ValueError("accepted must be a number")
        if values.get("source") not in SOURCES:
            raise ValueError(f"unknown source {values.get('source')!r}")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a list of strings")
        if not all(isinstance(v, str) for v in values.values()):
            raise ValueError("every field but texts must be a string")
        if not values.get("id") or "customer" not in values:
            raise ValueError("an outbox entry needs an id and a customer")
        return cls(texts=tuple(texts), accepted=float(accepted), **values)


def talked_about(names: Iterable[str]) -> str:
    """Gong's topics or trackers as the sentence a person would say about them."""
    found = [" ".join(n.split()).lower() for n in names if n and n.strip()]
    if not found:
        return ""
    if len(found) == 1:
        return f"We talked about {found[0]}."
    return f"We talked about {', '.join(found[:-1])} and {found[-1]}."


def best_match(matcher: Matcher, texts: Sequence[str]) -> Candidate | None:
    """The playbook the call's words point to when the matcher is confident about one of them.

    Each text is matched on its own (a title and a list of trackers say different
    things; joined, each would dilute the other), then all of them together; the
    post-call checklist is left out, since every call gets it anyway.
    """
    best: Candidate | None = None
    pieces = [t for t in texts if t.strip()]
    if len(pieces) > 1:
        pieces.append("\n".join(pieces))
    for text in pieces:
        found = matcher.match(text, "guide").best
        if found is not None and found.playbook != CHECKLIST and (
                best is None or found.score > best.score):
            best = found
    return best
