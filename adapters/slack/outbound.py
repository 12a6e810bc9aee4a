"""Slack posts the bot starts itself: every failure classified, no retries of its own.

The scheduler paces, waits out 429s and retries; retrying here would hide the 429s
from it and double every wait. The posts go through the process's one Slack client
(the bolt app's, see `slack_web`), each within its own deadline. Each post carries
message metadata with a mark, so after an instance died midway the next one can look
in the channel's history instead of posting twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.outbound import Result, Unavailable
from adapters.slack.blocks import escape, render
from adapters.slack.web import (
    API_TIMEOUT,
    GONE,
    NETWORK_ERRORS,
    api_error,
    failure,
)
from bot.messages import Reply

log = logging.getLogger("touchpoint.slack")

EVENT_TYPE = "touchpoint_post"
HISTORY_PAGES = 10
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def addressed(reply: Reply) -> dict[str, Any]:
    """The Block Kit body, opening with a mention of `reply.user` when it is a Slack user id.

    Anything else given as the owner (an e-mail address, a name) is shown as
    text: only an id can notify, and escaping keeps it from becoming markup.
    """
    body = render(reply)
    if not reply.user:
        return body
    who = f"<@{reply.user}>" if _USER_ID.match(reply.user) else f"For {escape(reply.user)}:"
    blocks = list(body["blocks"])
    if blocks and blocks[0].get("type") == "section":
        first = blocks[0]["text"]
        blocks[0] = {**blocks[0], "text": {**first, "text": f"{who} {first['text']}"}}
    else:
        blocks.insert(0, {"type": "section",
                          "text": {"type": "mrkdwn", "text": who, "verbatim": True}})
    return {**body, "text": f"{who} {body['text']}", "blocks": blocks}


class SlackOutbound:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, timeout: float = API_TIMEOUT,
                 owns_client: bool = False) -> None:
        self.client = client
        self._timeout = timeout
        """Seconds one call may take: a post must never outlive the claim it is made under."""
        self._owns_client = owns_client
        """True when made for one command (touchpoint prompt): this outbound keeps the
        client's connection pool and closes it. Otherwise the Slack adapter does."""
        self._session: aiohttp.ClientSession | None = None

    def _ensure_session(self) -> None:
        """One pooled session for the whole fan-out, not one connection per post."""
        if self._owns_client and (self._session is None or self._session.closed):
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout))
            self.client.session = self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        self._ensure_session()
        async with asyncio.timeout(self._timeout):
            return await self.client.api_call(method, **kwargs)

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        args: dict[str, Any] = {"channel": channel, **addressed(reply),
                                "unfurl_links": False, "unfurl_media": False}
        if mark:
            args["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"mark": mark}}
        try:
            await self._call("chat.postMessage", json=args)
        except (SlackApiError, *NETWORK_ERRORS) as exc:
            return failure(exc)
        return Result("posted")

    async def person(self, email: str) -> str | None:
        """users.lookupByEmail (scope `users:read.email`): the id a direct message goes to."""
        try:
            found = await self._call("users.lookupByEmail", http_verb="GET",
                                     params={"email": email})
        except SlackApiError as exc:
            error = api_error(exc)
            if error == "users_not_found":
                return None
            if failure(exc).outcome == "retry":
                raise Unavailable(f"users.lookupByEmail: {error}") from None
            if error == "missing_scope":
                log.error("slack: cannot find people by e-mail: add the users:read.email scope "
                          "(slack/manifest.yaml) and reinstall the app")
            else:
                log.error("slack: users.lookupByEmail failed: %s", error)
            return None
        except NETWORK_ERRORS as exc:
            raise Unavailable(f"users.lookupByEmail: {type(exc).__name__}") from None
        user = found.get("user") or {}
        user_id = user.get("id") if isinstance(user, dict) else None
        return user_id if isinstance(user_id, str) and _USER_ID.match(user_id) else None

    async def find(self, channel: str, mark: str, since: float) -> bool | None:
        cursor = ""
        for _ in range(HISTORY_PAGES):
            params: dict[str, Any] = {"channel": channel, "oldest": f"{since:.6f}", "limit": 200,
                                      "include_all_metadata": "true"}
            if cursor:
                params["cursor"] = cursor
            try:
                page = await self._call("conversations.history", http_verb="GET",
                                        params=params)
            except SlackApiError as exc:
                error = api_error(exc)
                if error in GONE or error == "missing_scope":
                    # Posting will tell (not_in_channel) or cannot be checked (no history scope).
                    log.warning("slack: cannot read the history of %s (%s) to check an "
                                "earlier attempt", channel, error)
                    return False
                return None
            except NETWORK_ERRORS:
                return None
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == EVENT_TYPE and \
                        (metadata.get("event_payload") or {}).get("mark") == mark:
                    return True
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return False
        return False

