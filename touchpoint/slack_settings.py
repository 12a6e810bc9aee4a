"""The Slack settings: three credentials that only work in certain combinations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict
from urllib.parse import urlparse

from adapters.slack.config import API_URL
from touchpoint.env_checks import MIN_SECRET
from touchpoint.slack_install_settings import SlackInstall, slack_install


class SlackSettings(TypedDict):
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str
    slack_api_url: str
    slack_install: SlackInstall | None


def slack_settings(env: Mapping[str, str], problems: list[str]) -> SlackSettings:
    """SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_API_URL and SLACK_SIGNING_SECRET.

    Secrets are never echoed into the problems.
    """
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
    if bot_token and not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
    api_url = env.get("SLACK_API_URL", API_URL).strip()
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"SLACK_API_URL={api_url!r}: must be an http(s) URL")
    signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    install = slack_install(env, problems)
    problems.extend(_slack_problems(bot_token, signing_secret, app_token,
                                    installed=install is not None))
    return {
        "slack_bot_token": bot_token,
        "slack_signing_secret": signing_secret,
        "slack_app_token": app_token,
        "slack_api_url": api_url if api_url.endswith("/") else api_url + "/",
        "slack_install": install,
    }


def _slack_problems(bot_token: str, signing_secret: str, app_token: str, *,
                    installed: bool = False) -> list[str]:
    """Slack's three credentials only work in certain combinations; say which one is missing.

    Secrets are never echoed into the problems.
    """
    problems = []
    if signing_secret.startswith(("xox", "xapp-")) or any(c.isspace() for c in signing_secret):
        problems.append("SLACK_SIGNING_SECRET: must be the app's Signing Secret (Basic "
                        "Information > App Credentials), not a token")
    elif signing_secret and len(signing_secret) < MIN_SECRET:
        problems.append(f"SLACK_SIGNING_SECRET: must be at least {MIN_SECRET} characters (the "
                        "app's Signing Secret has 32)")
    if not bot_token and not installed and (signing_secret or app_token):
        problems.append("SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN "
                        "is set (OAuth & Permissions > Bot User OAuth Token, xoxb-...)")
    if bot_token and not signing_secret and not app_token:
        problems.append("SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN to verify requests "
                        "to /slack/events (or set SLACK_APP_TOKEN to use Socket Mode instead)")
    return problems
