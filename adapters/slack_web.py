"""Slack's Web API as the adapter uses it: one client, bounded retries, readable failures.

Slack reports most failures as HTTP 200 with `ok: false`; the ones an operator
can act on get a log line that says what to do.
"""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.retry_after import retry_after

log = logging.getLogger("touchpoint.slack")

API_TIMEOUT = 15.0
"""Seconds one Web API call may take before it counts as a network error."""

AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
})
MISPLACED = frozenset({"not_in_channel", "channel_not_found", "user_not_in_channel"})
"""Errors where Slack's `response_url` can still reach the person."""
NETWORK_ERRORS = (TimeoutError, aiohttp.ClientError, OSError)
"""What a call to Slack raises when no answer arrived (timeout, refused, reset)."""


def api_error(exc: SlackApiError) -> str:
    """Slack's error code for a failed call, or its HTTP status when the answer names none."""
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


def rejected_token(error: str) -> str:
    """What `/healthz` and a failed post say about one of the AUTH_ERRORS."""
    return f"{error}: Slack rejected SLACK_BOT_TOKEN"


def explain(error: str, method: str, channel: str) -> str:
    """A log line that says what happened and what an operator can do about it."""
    where = f"{method} to {channel or '?'}"
    hints = {
        "not_in_channel": f"{where}: the bot is not a member of {channel}; "
                          "invite it with /invite @Touchpoint",
        "channel_not_found": f"{where}: channel {channel} does not exist or the bot cannot see "
                             "it (invite the bot to private channels)",
        "user_not_in_channel": f"{where}: the person is not in {channel}",
        "ratelimited": f"{where}: still rate limited after waiting as Slack asked; "
                       "this reply is dropped",
    }
    if error in AUTH_ERRORS:
        return (f"{where}: Slack rejected SLACK_BOT_TOKEN ({error}); check the token or "
                "reinstall the app to the workspace")
    return hints.get(error, f"{where} failed: {error}")


def _asked(response: HttpResponse) -> float:
    """Seconds Slack's Retry-After asks for; 1 s when it gives none that can be read."""
    asked = retry_after(response.headers)
    return 1.0 if asked is None else asked


class RateLimitRetry(AsyncRetryHandler):
    """Waits out a 429 for as long as Slack's `Retry-After` asks, within bounds.

    slack_sdk's own handler trusts any `Retry-After`; a coaching reply that
    arrives many minutes late is worse than none, so beyond `max_wait` the
    call fails and is logged instead.
    """

    def __init__(self, max_retry_count: int = 2, max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self, *, state: RetryState, request: HttpRequest,
        response: HttpResponse | None = None, error: Exception | None = None,
    ) -> bool:
        return (response is not None and response.status_code == 429
                and _asked(response) <= self.max_wait)

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest,
        response: HttpResponse | None = None, error: Exception | None = None,
    ) -> None:
        wait = _asked(response) if response is not None else 1.0
        log.warning("slack: rate limited on %s; retrying in %g s as Slack asked",
                    request.url.rsplit("/", 1)[-1], wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait + random.uniform(0, 0.05))
        state.increment_current_attempt()


SERVER_RETRIES = 3


def web_client(token: str, base_url: str, *, timeout: float = API_TIMEOUT,
               retries: bool = True) -> AsyncWebClient:
    """A network blip or a 5xx is retried up to three times with backoff (0.5, 1, 2 s),
    a 429 as Slack's `Retry-After` says: a short Slack incident must not lose a reply.

    With `retries=False` every call is tried once, for a caller that retries
    and waits out 429s itself.
    """
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=SERVER_RETRIES),
        RateLimitRetry(),
        AsyncServerErrorRetryHandler(max_retry_count=SERVER_RETRIES),
    ] if retries else []
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=int(timeout),
        logger=logging.getLogger("touchpoint.slack.web"),
        retry_handlers=handlers,
    )
