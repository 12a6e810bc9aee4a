"""Slack posts the bot starts itself: every failure classified, no retries of its own.

The scheduler paces, waits out 429s and retries; a client with its own
retry handlers would hide the 429s from it and double every wait. Each post
carries message metadata with a mark, so after an instance died midway the
next one can look in the channel's history instead of posting twice.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.outbound import Result, Unavailable
from adapters.retry_after import retry_after
from adapters.slack_blocks import escape, render
from adapters.slack_web import (
    API_TIMEOUT,
    AUTH_ERRORS,
    NETWORK_ERRORS,
    api_error,
    rejected_token,
    web_client,
)
from bot.messages import Reply

log = logging.getLogger("touchpoint.slack")

EVENT_TYPE = "touchpoint_post"
GONE = frozenset({
    "not_in_channel", "channel_not_found", "is_archived", "channel_is_archived",
    "restricted_action", "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
    "team_access_not_granted", "ekm_access_denied", "access_denied", "cannot_dm_bot",
})
"""Errors that will not go away by trying again: the bot was removed, the channel archived."""
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "ratelimited"})
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

    def __init__(self, token: str, base_url: str, *, timeout: float = API_TIMEOUT) -> None:
        self.client = web_client(token, base_url, timeout=timeout, retries=False)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _ensure_session(self) -> None:
        """One pooled session for the whole fan-out, not one connection per post."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout))
            self.client.session = self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, channel: str, reply: Reply, mark: str = "") -> Result:
        self._ensure_session()
        args: dict[str, Any] = {"channel": channel, **addressed(reply),
                                "unfurl_links": False, "unfurl_media": False}
        if mark:
            args["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"mark": mark}}
        try:
            await self.client.api_call("chat.postMessage", json=args)
        except SlackApiError as exc:
            return _classify(exc)
        except NETWORK_ERRORS as exc:
            return Result("retry", f"{type(exc).__name__}: {exc}".rstrip(": "))
        return Result("posted")

    async def person(self, email: str) -> str | None:
        """users.lookupByEmail (scope `users:read.email`): the id a direct message goes to."""
        self._ensure_session()
        try:
            found = await self.client.api_call("users.lookupByEmail", http_verb="GET",
                                               params={"email": email})
        except SlackApiError as exc:
            error = api_error(exc)
            if error == "users_not_found":
                return None
            if exc.response.status_code == 429 or exc.response.status_code >= 500 \
                    or error in TRANSIENT:
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
        self._ensure_session()
        cursor = ""
        for _ in range(HISTORY_PAGES):
            params: dict[str, Any] = {"channel": channel, "oldest": f"{since:.6f}", "limit": 200,
                                      "include_all_metadata": "true"}
            if cursor:
                params["cursor"] = cursor
            try:
                page = await self.client.api_call("conversations.history", http_verb="GET",
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


def _classify(exc: SlackApiError) -> Result:
    status = exc.response.status_code
    error = api_error(exc)
    if status == 429:
        return Result("retry", "ratelimited", retry_after(exc.response.headers))
    if error in GONE:
        return Result("gone", error)
    if status >= 500 or error in TRANSIENT:
        return Result("retry", error)
    if error in AUTH_ERRORS:
        return Result("failed", rejected_token(error))
    return Result("failed", error)
