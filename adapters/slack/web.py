"""Slack's Web API as Touchpoint uses it: one client, one error vocabulary, one classifier.

Slack reports most failures as HTTP 200 with `ok: false`; `classify` turns any
failed call into an `outbound.Result` (posted, retry, gone, failed), and the ones
an operator can act on get a log line that says what to do. The client itself
never retries: answers are tried again by `call_with_retries`, scheduled posts by
the scheduler's pacing, so a 429 is waited out once and where it is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.outbound import Result
from adapters.retry_after import RetryPolicy, retry_after, retrying

log = logging.getLogger("touchpoint.slack")

API_TIMEOUT = 15.0
"""Seconds one Web API call may take before it counts as a network error."""

AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
})
MISPLACED = frozenset({"not_in_channel", "channel_not_found", "user_not_in_channel"})
"""Errors where Slack's `response_url` can still reach the person."""
GONE = frozenset({
    "not_in_channel", "channel_not_found", "is_archived", "channel_is_archived",
    "restricted_action", "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
    "team_access_not_granted", "ekm_access_denied", "access_denied", "cannot_dm_bot",
})
"""Errors that will not go away by trying again: the bot was removed, the channel archived."""
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "ratelimited"})
NETWORK_ERRORS = (TimeoutError, aiohttp.ClientError, OSError)
"""What a call to Slack raises when no answer arrived (timeout, refused, reset)."""

SERVER_RETRIES = 3
REPLY_RETRY = RetryPolicy(attempts=1 + SERVER_RETRIES, base_delay=0.5, max_delay=30.0,
                          max_wait=30.0, jitter=0.05)
"""An answer survives a network blip or a short run of 5xx (retried after 0.5, 1, 2 s) and
a 429 waited out as Slack asks, up to 30 s: beyond, it would come too late to help."""


def api_error(exc: SlackApiError) -> str:
    """Slack's error code for a failed call, or its HTTP status when the answer names none."""
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


def rejected_token(error: str) -> str:
    """What `/healthz` and a failed post say about one of the AUTH_ERRORS."""
    return f"{error}: Slack rejected SLACK_BOT_TOKEN"


def classify(status: int, error: str, headers: Mapping[str, object] | None = None) -> Result:
    """A failed call's outcome from its HTTP status, Slack's error code ('' when the
    answer names none) and headers (a 429's Retry-After)."""
    if status == 429:
        return Result("retry", "ratelimited", retry_after(headers))
    code = error or f"HTTP {status}"
    if code in GONE:
        return Result("gone", code)
    if status >= 500 or code in TRANSIENT:
        return Result("retry", code)
    if code in AUTH_ERRORS:
        return Result("failed", rejected_token(code))
    return Result("failed", code)


def failure(exc: BaseException) -> Result:
    """`classify` for what a call raised: Slack's refusal, or no answer at all (retry)."""
    if isinstance(exc, SlackApiError):
        return classify(exc.response.status_code, str(exc.response.get("error") or ""),
                        exc.response.headers)
    return Result("retry", f"{type(exc).__name__}: {exc}".rstrip(": "))


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


def web_client(token: str, base_url: str, *, timeout: float = API_TIMEOUT) -> AsyncWebClient:
    """The process's Slack client: bolt's, Socket Mode's, the answers' and the scheduled
    posts'. Every call is tried once; the callers decide what is worth trying again."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=max(1, int(timeout)),
        logger=logging.getLogger("touchpoint.slack.web"),
        retry_handlers=[],
    )


async def call_with_retries(client: AsyncWebClient, method: str, args: Mapping[str, Any],
                            policy: RetryPolicy = REPLY_RETRY) -> BaseException | None:
    """Call `method` until Slack takes it or `policy` gives up: None when it was taken,
    else what the last try raised (a `SlackApiError` or one of NETWORK_ERRORS).

    A call that timed out is not sent again: Slack may well have taken it.
    """
    last: list[BaseException] = []

    async def attempt() -> Result:
        try:
            await client.api_call(method, json=dict(args))
        except SlackApiError as exc:
            last[:] = [exc]
            return failure(exc)
        except NETWORK_ERRORS as exc:
            last[:] = [exc]
            return Result("failed", "timed out") if isinstance(exc, TimeoutError) \
                else failure(exc)
        return Result("posted")

    def waiting(result: Result, number: int, delay: float) -> None:
        if result.reason == "ratelimited":
            log.warning("slack: rate limited on %s; retrying in %g s as Slack asked",
                        method, delay)
        else:
            log.info("slack: %s failed (%s); retry %d in %g s", method, result.reason,
                     number, delay)

    result = await retrying(attempt, policy, waiting=waiting)
    return None if result.outcome == "posted" else last[0]
