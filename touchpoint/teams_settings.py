"""The Teams settings: the Bot Framework's variables (their Azure names), checked together."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypedDict
from urllib.parse import urlparse

from adapters.teams.config import OPENID_URL, SERVICE_URLS
from touchpoint.env_checks import FLAGS

TEAMS_APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
TEAMS_SERVICE_URLS = SERVICE_URLS
TEAMS_OPENID_URL = OPENID_URL
TEAMS_DEV_PREFIX = "teams-dev:"
"""Added to the Redis key prefix in Teams dev mode, so it never shares a production's keys."""
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class TeamsSettings(TypedDict):
    microsoft_app_id: str
    microsoft_app_password: str
    microsoft_app_type: str
    microsoft_app_tenant_id: str
    teams_dev: bool
    teams_tenants: tuple[str, ...]
    teams_service_urls: str
    teams_openid_url: str


def teams_settings(env: Mapping[str, str], problems: list[str]) -> TeamsSettings:
    """The Bot Framework variables (their Azure names), checked together: they depend on each other.

    Secrets are never echoed into the problems.
    """
    app_id = env.get("MicrosoftAppId", "").strip()
    password = env.get("MicrosoftAppPassword", "").strip()
    tenant = env.get("MicrosoftAppTenantId", "").strip()
    raw_type = env.get("MicrosoftAppType", "").strip() or "SingleTenant"
    app_type = next((t for t in TEAMS_APP_TYPES if t.lower() == raw_type.lower()), "")
    raw_dev = env.get("TOUCHPOINT_TEAMS_DEV", "").strip().lower()
    dev = FLAGS.get(raw_dev)
    if dev is None:
        problems.append(f"TOUCHPOINT_TEAMS_DEV={raw_dev!r}: must be 1 or 0")
        dev = False
    if not app_type:
        problems.append(f"MicrosoftAppType={raw_type!r}: must be one of "
                        + ", ".join(TEAMS_APP_TYPES))
    if app_id and not _GUID.match(app_id):
        problems.append(f"MicrosoftAppId={app_id!r}: must be the bot's app id, a GUID like "
                        "00000000-0000-0000-0000-000000000000")
    if tenant and not (_GUID.match(tenant) or _TENANT_DOMAIN.match(tenant)):
        problems.append(f"MicrosoftAppTenantId={tenant!r}: must be a tenant GUID or domain")
    if not app_id:
        if password or tenant:
            problems.append("MicrosoftAppPassword or MicrosoftAppTenantId is set but "
                            "MicrosoftAppId is not: set the app id too, or remove them")
    elif dev:
        problems.append("TOUCHPOINT_TEAMS_DEV=1 turns authentication off and cannot be "
                        "combined with MicrosoftAppId: unset one of them")
    elif app_type in ("MultiTenant", "SingleTenant") and not password:
        problems.append(f"MicrosoftAppPassword: required with MicrosoftAppId for a "
                        f"{app_type} bot (the client secret of the bot's app registration)")
    if app_id and app_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
        problems.append(f"MicrosoftAppTenantId: required for MicrosoftAppType={app_type} "
                        "(the default; set MicrosoftAppType=MultiTenant for a multi-tenant "
                        "registration)")
    tenants = tuple(t.lower() for t in env.get("TOUCHPOINT_TEAMS_TENANTS", "")
                    .replace(",", " ").split())
    for bad in [t for t in tenants if not _GUID.match(t)]:
        problems.append(f"TOUCHPOINT_TEAMS_TENANTS: {bad!r} is not a tenant id (a GUID)")
    if (app_id and app_type in ("SingleTenant", "UserAssignedMSI") and tenant
            and not _GUID.match(tenant) and not tenants):
        problems.append("TOUCHPOINT_TEAMS_TENANTS: required when MicrosoftAppTenantId is a "
                        "domain: set it to your tenant's id (a GUID), which Teams sends")
    service_urls = env.get("TOUCHPOINT_TEAMS_SERVICE_URLS", "").strip() or TEAMS_SERVICE_URLS
    try:
        re.compile(service_urls)
    except re.error as exc:
        problems.append(f"TOUCHPOINT_TEAMS_SERVICE_URLS: not a regular expression ({exc})")
    openid_url = env.get("TOUCHPOINT_TEAMS_OPENID_URL", "").strip() or TEAMS_OPENID_URL
    parsed = urlparse(openid_url)
    if not parsed.netloc or not (parsed.scheme == "https" or (
            parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1"))):
        problems.append(f"TOUCHPOINT_TEAMS_OPENID_URL={openid_url!r}: must be an https:// URL "
                        "(http:// only on this machine, for tests)")
    return {
        "microsoft_app_id": app_id,
        "microsoft_app_password": password,
        "microsoft_app_type": app_type or "SingleTenant",
        "microsoft_app_tenant_id": tenant,
        "teams_dev": dev,
        "teams_tenants": tenants,
        "teams_service_urls": service_urls,
        "teams_openid_url": openid_url,
    }
