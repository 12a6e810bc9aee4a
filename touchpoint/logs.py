"""What the log may say: no message or customer text at INFO or below, unless asked.

People's messages, the Try-it text and customer names reach the log by three
roads: the access log's query strings (the Try-it page is a GET with `?text=`)
and Referer, and, at DEBUG, the Slack and Teams libraries' request and response
bodies. Logs are kept longer and read more widely than the chat itself, so
unless TOUCHPOINT_LOG_TEXT=1 the access log leaves query strings out and those
libraries log nothing below INFO. Touchpoint's own lines never carry the text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_log import AccessLogger

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BODY_LOGGERS = ("touchpoint.slack.web", "touchpoint.slack.bolt", "slack_sdk", "slack_bolt",
                "microsoft_agents", "msal", "aiohttp.client")
"""Libraries whose DEBUG lines hold what was sent or received (Slack's Web API client, bolt,
Socket Mode, the Agents SDK's Teams connector)."""


def configure(level: str, log_text: bool) -> None:
    """The process's logging: `level` for Touchpoint, and the text kept out unless `log_text`."""
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger("aiohttp.server").addFilter(MalformedHttp())
    if not log_text:
        quiet(BODY_LOGGERS)


class MalformedHttp(logging.Filter):
    """aiohttp answers a request it cannot parse (a raw byte in the URL, a broken header)
    with 400, and logs an ERROR with a traceback: anyone could fill the log with those.
    Said here as one WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and record.levelno > logging.WARNING:
            said = record.getMessage()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "%s: malformed HTTP (%s)"
            record.args = (said, f"{type(error).__name__}: {error.message}")
            record.exc_info = record.exc_text = None
        return True


def quiet(names: Iterable[str]) -> None:
    """Nothing below INFO from these loggers (and their children)."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


class AccessLog(AbstractAccessLogger):
    """aiohttp's access line without the query strings: they hold what people typed.

    `remote "METHOD /path HTTP/1.1" status bytes "referer path" "user agent" seconds`
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        referer = request.headers.get("Referer", "-").partition("?")[0]
        self.logger.info('%s "%s %s HTTP/%d.%d" %d %d "%s" "%s" %.3f', request.remote,
                         request.method, request.path, request.version.major,
                         request.version.minor, response.status, response.body_length,
                         referer, request.headers.get("User-Agent", "-"), time)


def access_log(log_text: bool) -> type[AbstractAccessLogger]:
    """The access-log class for aiohttp's runner."""
    return AccessLogger if log_text else AccessLog
