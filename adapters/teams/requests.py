"""What `POST /api/messages` accepts before any SDK sees it: who may call, which tenants,
and what a body must be. Pure checks on the request and the activity's JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from adapters.bodies import read_body
from adapters.network import forwarded, is_loopback
from adapters.teams import activity as teams_activity
from adapters.teams.config import TeamsConfig

MAX_ACTIVITY_BYTES = 256 * 1024
"""Teams activities are a few kilobytes; anything this big is not one."""
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def request_is_local(remote: str | None, headers: Mapping[str, str]) -> bool:
    """Dev mode's first protection: the peer is loopback and no proxy forwarded the request.

    A proxy on the same machine would make every caller look local, so any
    forwarding header means the request came from elsewhere.
    """
    return is_loopback(remote) and not forwarded(headers)


def dev_request_problem(remote: str | None, headers: Mapping[str, str]) -> str | None:
    """Why dev mode refuses a request, or None. Beyond a loopback peer: a page in a browser
    on this machine could post here too, so the Host must be local (no DNS rebinding), the
    body declared JSON (no simple form post) and any Origin local."""
    if not request_is_local(remote, headers):
        return "dev mode accepts local requests only"
    if _host_name(headers.get("Host", "")) not in LOCAL_HOSTS:
        return "dev mode accepts requests to localhost only (the Host header)"
    if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return "dev mode accepts application/json bodies only"
    origin = headers.get("Origin")
    if origin is not None and urlparse(origin).hostname not in LOCAL_HOSTS:
        return "dev mode refuses cross-site requests (the Origin header)"
    return None


def _host_name(host: str) -> str:
    return urlparse(f"//{host}").hostname or ""


def tenant_of(raw: Mapping[str, Any]) -> str:
    """The tenant an activity comes from: channelData.tenant.id, else conversation.tenantId."""
    channel_data = raw.get("channelData")
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    found = tenant.get("id") if isinstance(tenant, dict) else None
    if not isinstance(found, str) or not found:
        conversation = raw.get("conversation")
        found = conversation.get("tenantId") if isinstance(conversation, dict) else None
    return found.lower() if isinstance(found, str) else ""


def allowed_tenants(config: TeamsConfig) -> tuple[str, ...]:
    """The tenants configured, or a single-tenant bot's own tenant; empty: any tenant."""
    if config.tenants:
        return config.tenants
    tenant = config.tenant_id.lower()
    if config.app_id and config.app_type != "MultiTenant" and tenant:
        return (tenant,)
    return ()


@dataclass(frozen=True)
class Refusal:
    """Why a request is no activity, and the status that says so."""

    status: int
    reason: str


async def read_activity(request: web.Request) -> dict[str, Any] | Refusal:
    """The body as an activity, or why it isn't one; never reads more than the limit."""
    body = await read_body(request, MAX_ACTIVITY_BYTES)
    if body is None:
        return Refusal(413, f"the body is larger than {MAX_ACTIVITY_BYTES} bytes")
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        return Refusal(400, "the body is not JSON")
    problem = teams_activity.activity_problem(raw)
    if problem is not None:
        return Refusal(400, problem)
    assert isinstance(raw, dict)
    return raw
