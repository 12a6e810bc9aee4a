"""What the log may say: no message or customer text at INFO or below, unless asked.

People's messages, the Try-it text and customer names reach the log by three
roads: the access log's query strings (the Try-it page is a GET with `?text=`)
and Referer, and, at DEBUG, the Slack and Teams libraries' request and response
bodies. Logs are kept longer and read more widely than the chat itself, so
unless TOUCHPOINT_LOG_TEXT=1 the access log (`access_log`) leaves query strings out and those
libraries log nothing below INFO. Touchpoint's own lines never carry the text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BODY_LOGGERS = ("touchpoint.slack.web", "touchpoint.slack.bolt", "slack_sdk", "slack_bolt",
                "microsoft_agents", "msal", "aiohttp.client")
"""Libraries whose DEBUG lines hold what was sent or received (Slack's Web API client, bolt,
Socket Mode, the Agents SDK's Teams connector)."""


def configure(level: str, log_text: bool) -> None:
    """The process's logging: `level` for Touchpoint, and the text kept out unless `log_text`."""
    logging.basicConfig(level=level, format=FORMAT)
    if not log_text:
        quiet(BODY_LOGGERS)


def quiet(names: Iterable[str]) -> None:
    """Nothing below INFO from these loggers (and their children)."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
