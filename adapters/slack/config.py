"""What the Slack adapter needs to know about its deployment, and nothing of the process.

`touchpoint/settings.py` reads and checks the environment and builds this; the adapter
never looks at the process's own settings, so it can be driven by anything that fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

PLATFORM: Final = "slack"
API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = field(default="", repr=False)
    """Empty: Slack is off."""
    signing_secret: str = field(default="", repr=False)
    """Verifies `POST /slack/events`; without it Slack runs over Socket Mode only."""
    app_token: str = field(default="", repr=False)
    """Set: Slack also (or, with `serve --socket-mode`, only) connects through Socket Mode."""
    api_url: str = API_URL
    post_timeout: float = 15.0
    """Seconds one proactive post may take: it must never outlive the claim it is made under."""

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)
