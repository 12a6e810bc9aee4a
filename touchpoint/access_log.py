"""What the server's log says about HTTP: no query strings, one line per malformed request.

Apart from `logs`, so the commands that serve nothing do not load aiohttp.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_log import AccessLogger


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


MALFORMED = MalformedHttp()
"""Added to aiohttp's server logger by whatever serves (once, however often it is added)."""


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
