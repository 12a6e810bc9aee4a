"""Gong's and Zoom's webhook bodies read into a `Call`, checking every field used.

Both senders add fields without notice, so anything not read here is ignored;
a field that is read but has the wrong shape is `BadPayload`, answered 400,
and nothing is queued. Lengths are capped so an outbox entry stays small.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.calls import Call, talked_about

MAX_TEXT = 2000
MAX_NAMES = 50


class BadPayload(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}" if field else problem)


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadPayload("", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadPayload("", "the body must be a JSON object")
    return data


def _text(data: Mapping[str, Any], name: str, where: str, *, required: bool = False,
          limit: int = 256) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadPayload(f"{where}{name}", "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{where}{name}", "must be a string")
    return " ".join(str(value).split())[:limit]


def _object(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise BadPayload(f"{where}{name}", "is required and must be an object")
    return value


def _objects(data: Mapping[str, Any], name: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadPayload(f"{where}{name}", "must be a list of objects")
    return value[:200]


@dataclass(frozen=True)
class GongCall:
    call: Call
    is_test: bool
    external: bool


def gong_call(body: bytes) -> GongCall:
    """An automation rule's "Fire webhook" body: `{"callData": {...}, "isTest": bool}`.

    The call is a customer call when its scope is External or an External party
    took part; its owner is the party whose Gong user id is the primary user's.
    """
    data = json_object(body)
    call_data = _object(data, "callData", "")
    is_test = data.get("isTest", False)
    if not isinstance(is_test, bool):
        raise BadPayload("isTest", "must be true or false")
    meta = _object(call_data, "metaData", "callData.")
    where = "callData.metaData."
    call_id = _text(meta, "id", where, required=True, limit=64)
    title = _text(meta, "title", where, limit=300)
    primary = _text(meta, "primaryUserId", where, limit=64)
    parties = _objects(call_data, "parties", "callData.")
    owner_email = ""
    external = _text(meta, "scope", where, limit=32).lower() == "external"
    for index, party in enumerate(parties):
        where_party = f"callData.parties[{index}]."
        affiliation = _text(party, "affiliation", where_party, limit=32).lower()
        external = external or affiliation == "external"
        if primary and _text(party, "userId", where_party, limit=64) == primary:
            owner_email = _text(party, "emailAddress", where_party, limit=254).lower()
    account, crm_owner = _crm(call_data)
    content = call_data.get("content") or {}
    if not isinstance(content, dict):
        raise BadPayload("callData.content", "must be an object")
    topics = [_text(t, "name", "callData.content.topics[].", limit=100)
              for t in _objects(content, "topics", "callData.content.")]
    trackers = [_text(t, "name", "callData.content.trackers[].", limit=100)
                for t in _objects(content, "trackers", "callData.content.")
                if _count(t) > 0]
    brief = _text(content, "brief", "callData.content.", limit=MAX_TEXT)
    texts = tuple(t for t in (title, brief, talked_about(topics[:MAX_NAMES]),
                              talked_about(trackers[:MAX_NAMES])) if t)
    call = Call("gong", call_id, customer=account or title, texts=texts,
                owner_email=owner_email,
                workspace=_text(meta, "workspaceId", where, limit=64),
                crm_owner=crm_owner, url=_text(meta, "url", where, limit=500))
    return GongCall(call, is_test, external)


def _count(tracker: Mapping[str, Any]) -> int:
    """A tracker Gong lists with no occurrences said nothing about the call."""
    count = tracker.get("count", 1)
    return count if isinstance(count, int) and not isinstance(count, bool) else 1


def _crm(call_data: Mapping[str, Any]) -> tuple[str, str]:
    """The CRM account's name and the account's (or opportunity's) owner, from `context`."""
    account = owner = ""
    for system in _objects(call_data, "context", "callData."):
        for record in _objects(system, "objects", "callData.context[]."):
            kind = _text(record, "objectType", "callData.context[].objects[].", limit=64)
            values = {}
            for item in _objects(record, "fields", "callData.context[].objects[]."):
                name = item.get("name")
                value = item.get("value")
                if isinstance(name, str) and isinstance(value, str):
                    values[name] = " ".join(value.split())[:200]
            if kind == "Account" and not account:
                account = values.get("Name", "")
            if kind in ("Account", "Opportunity") and not owner:
                owner = values.get("OwnerId", "") or values.get("Owner", "")
    return account, owner


@dataclass(frozen=True)
class ZoomEvent:
    event: str
    plain_token: str = ""
    call: Call | None = None
    topic: str = ""


def zoom_event(body: bytes) -> ZoomEvent:
    """An event subscription's body: the URL validation challenge, `meeting.ended`, or another
    event (answered, not used)."""
    data = json_object(body)
    event = _text(data, "event", "", required=True, limit=100)
    payload = _object(data, "payload", "")
    if event == "endpoint.url_validation":
        token = _text(payload, "plainToken", "payload.", required=True, limit=256)
        return ZoomEvent(event, plain_token=token)
    if event != "meeting.ended":
        return ZoomEvent(event)
    meeting = _object(payload, "object", "payload.")
    where = "payload.object."
    uuid = _text(meeting, "uuid", where, required=True, limit=128)
    topic = _text(meeting, "topic", where, limit=300)
    call = Call("zoom", uuid, customer=topic, texts=(topic,) if topic else (),
                account=_text(payload, "account_id", "payload.", limit=64),
                host=_text(meeting, "host_id", where, required=True, limit=64))
    return ZoomEvent(event, call=call, topic=topic)
