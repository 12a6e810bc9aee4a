"""Who the bot is in its workspace, learnt from `auth.test`.

Without its own user id the bot cannot tell its echoes and mentions from anyone
else's, so a failure here is the adapter's health problem, said in words that name
the fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.web import AUTH_ERRORS, NETWORK_ERRORS, api_error, explain, rejected_token

log = logging.getLogger("touchpoint.slack")


@dataclass
class Identity:
    """Who the bot is in its workspace, from `auth.test`."""

    user_id: str = ""
    bot_id: str = ""
    team_id: str = ""
    team: str = ""
    user: str = ""


async def sign_in(client: AsyncWebClient, api_url: str) -> Identity | str:
    """The bot's identity, or why it could not be learnt (logged already)."""
    try:
        result = await client.auth_test()
    except SlackApiError as exc:
        error = api_error(exc)
        if error in AUTH_ERRORS:
            log.error("slack: %s", explain(error, "auth.test", ""))
            return rejected_token(error)
        log.error("slack: auth.test failed: %s", error)
        return f"auth.test failed: {error}"
    except NETWORK_ERRORS as exc:
        log.error("slack: cannot reach the Web API at %s (%s: %s)",
                  api_url, type(exc).__name__, exc)
        return "Slack Web API unreachable"
    identity = Identity(user_id=str(result.get("user_id") or ""),
                        bot_id=str(result.get("bot_id") or ""),
                        team_id=str(result.get("team_id") or ""),
                        team=str(result.get("team") or ""),
                        user=str(result.get("user") or ""))
    log.info("slack: signed in to %s (%s) as @%s (%s)", identity.team, identity.team_id,
             identity.user, identity.user_id)
    return identity
