"""What the Teams adapter needs to know about its deployment, and nothing of the process.

`touchpoint/settings.py` reads and checks the environment (the Bot Framework's Azure names)
and builds this; the adapter never looks at the process's own settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

PLATFORM: Final = "teams"
SERVICE_URLS = (r"^https://(smba\.trafficmanager\.net|[a-z0-9.-]+\.botframework\.com"
                r"|[a-z0-9.-]+\.botframework\.azure\.us|[a-z0-9.-]+\.teams\.microsoft\.com"
                r"|[a-z0-9.-]+\.teams\.microsoft\.us)(:443)?/")
"""Teams' and the Bot Framework's connector hosts, and nothing anyone else can register."""
OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str = ""
    """Empty: Teams is off (unless `dev`)."""
    app_password: str = field(default="", repr=False)
    app_type: str = "SingleTenant"
    """New multi-tenant bot registrations are deprecated; `SingleTenant` needs the tenant id."""
    tenant_id: str = ""
    dev: bool = False
    """Unauthenticated endpoint for local tools and tests; loopback callers only."""
    tenants: tuple[str, ...] = ()
    """Tenant ids whose activities are served; empty: the app's own tenant (single tenant)."""
    service_urls: str = SERVICE_URLS
    """The serviceUrls the bot posts to (a regular expression): Microsoft's connector hosts."""
    openid_url: str = OPENID_URL
    """Where the Bot Framework's token signing keys are published."""

    @property
    def enabled(self) -> bool:
        return bool(self.app_id) or self.dev

    @property
    def dev_mode(self) -> bool:
        """Unauthenticated and loopback-only: `dev` without an app id."""
        return self.dev and not self.app_id
