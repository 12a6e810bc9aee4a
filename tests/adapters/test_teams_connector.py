"""Teams' one error classifier: a connector request's HTTP status as an outbound outcome."""

from __future__ import annotations

import aiohttp
import pytest
from multidict import CIMultiDict

from adapters.outbound import Result
from adapters.teams.connector import (
    ServiceUrlRefused,
    TokenUnavailable,
    classify,
    failure,
)

GONE = Result("gone", "Teams answered 403: the bot was removed there")


@pytest.mark.parametrize(("status", "headers", "unreachable", "expected"), [
    (403, None, False, GONE),
    (429, {"Retry-After": "4"}, False, Result("retry", "HTTP 429", 4.0)),
    (429, None, False, Result("retry", "HTTP 429")),
    (500, None, False, Result("retry", "HTTP 500")),
    (503, {"retry-after": "2"}, False, Result("retry", "HTTP 503", 2.0)),
    (400, None, False, Result("failed", "HTTP 400")),
    (401, None, False, Result("failed", "HTTP 401")),
    (404, None, False, Result("failed", "HTTP 404")),
    (None, None, True, Result("retry", "no answer")),
    (None, None, False, Result("failed", "no status")),
])
def test_classify(status: int | None, headers: dict[str, object] | None, unreachable: bool,
                  expected: Result) -> None:
    assert classify(status, headers, unreachable=unreachable) == expected


def _answered(status: int, **headers: str) -> aiohttp.ClientResponseError:
    return aiohttp.ClientResponseError(None, (), status=status,  # type: ignore[arg-type]
                                       headers=CIMultiDict(headers))


@pytest.mark.parametrize(("raised", "expected"), [
    (_answered(403), GONE),
    (_answered(429, **{"Retry-After": "1"}), Result("retry", "HTTP 429", 1.0)),
    (_answered(502), Result("retry", "HTTP 502")),
    (_answered(400), Result("failed", "HTTP 400")),
    (aiohttp.ServerDisconnectedError(), Result("retry", "no answer")),
    (TimeoutError(), Result("retry", "no answer")),
    (ValueError("a bug"), Result("failed", "no status")),
    (ServiceUrlRefused("https://evil.example/"),
     Result("failed", "the serviceUrl is not an allowed Teams connector host")),
    (TokenUnavailable("no token from Microsoft Entra within 20s"),
     Result("failed", "the bot has no token (no token from Microsoft Entra within 20s)")),
])
def test_failure_reads_what_posting_raised(raised: BaseException, expected: Result) -> None:
    assert failure(raised) == expected
