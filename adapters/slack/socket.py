"""Socket Mode's connection, opened so that a bad app token is one clear log line.

slack_sdk's client would retry a refused token forever, quietly; asking for the
websocket URL first tells a refusal (said once, then given up) from an unreachable
Slack (retried). Once connected, the client reconnects by itself when Slack rotates
or drops the connection.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.web import NETWORK_ERRORS, api_error

log = logging.getLogger("touchpoint.slack")


async def connect(socket: AsyncSocketModeHandler, client: AsyncWebClient, app_token: str,
                  api_url: str, retry_every: float) -> None:
    while True:
        try:
            opened = await client.apps_connections_open(app_token=app_token)
            break
        except SlackApiError as exc:
            log.error("slack: Socket Mode refused (%s): check SLACK_APP_TOKEN, an app-level "
                      "token with connections:write, and that Socket Mode is enabled",
                      api_error(exc))
            return
        except NETWORK_ERRORS as exc:
            log.error("slack: Socket Mode cannot reach %s (%s: %s); retrying in %g s",
                      api_url, type(exc).__name__, exc, retry_every)
            await asyncio.sleep(retry_every)
    socket.client.wss_uri = opened["url"]
    await socket.connect_async()  # type: ignore[no-untyped-call]
