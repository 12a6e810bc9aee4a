"""One answer posted to Slack, and what its outcome says about the adapter's health.

A post that fails says why in the log, in words that name the fix. Where Slack will
not let the bot post (not in the channel, a DM it may not open) the person is reached
through the request's `response_url` instead, which needs no membership.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import Post
from adapters.slack.web import (
    API_TIMEOUT,
    AUTH_ERRORS,
    MISPLACED,
    NETWORK_ERRORS,
    api_error,
    call_with_retries,
    explain,
    rejected_token,
)

log = logging.getLogger("touchpoint.slack")


@dataclass(frozen=True)
class Delivered:
    ok: bool
    problem: str | None = None
    """What the adapter's health should say from now on ("" for fine); None: no news."""


async def deliver(post: Post, client: AsyncWebClient, session: aiohttp.ClientSession | None,
                  api_url: str, *, one_token: bool) -> Delivered:
    """Post `post` with `client`. With `one_token`, a rejected token is the whole adapter's
    problem; with many workspaces' tokens it is only that workspace's."""
    channel = str(post.args.get("channel", ""))
    failed = await call_with_retries(client, post.method, post.args)
    if isinstance(failed, SlackApiError):
        status = failed.response.status_code
        error = api_error(failed)
        problem = rejected_token(error) if error in AUTH_ERRORS and one_token else None
        if error in MISPLACED and post.fallback is not None and post.response_url:
            log.info("slack: %s; answering through response_url instead",
                     explain(error, post.method, channel))
            return Delivered(await respond(post, session), problem)
        level = logging.ERROR if error in AUTH_ERRORS or status >= 500 else logging.WARNING
        log.log(level, "slack: %s", explain(error, post.method, channel))
        return Delivered(False, problem)
    if failed is not None:
        log.error("slack: %s to %s failed: cannot reach the Web API at %s (%s: %s)",
                  post.method, channel, api_url, type(failed).__name__, failed)
        return Delivered(False, "Slack Web API unreachable")
    return Delivered(True, "")


async def respond(post: Post, session: aiohttp.ClientSession | None) -> bool:
    """Slack's `response_url` reaches people where the bot itself may not post."""
    assert post.fallback is not None
    hook = AsyncWebhookClient(post.response_url, session=session, timeout=int(API_TIMEOUT),
                              logger=logging.getLogger("touchpoint.slack.web"))
    try:
        response = await hook.send_dict(post.fallback)
    except NETWORK_ERRORS as exc:
        log.error("slack: response_url unreachable (%s: %s)", type(exc).__name__, exc)
        return False
    if response.status_code != 200:
        log.warning("slack: response_url answered HTTP %d: %s",
                    response.status_code, response.body[:200])
        return False
    return True
