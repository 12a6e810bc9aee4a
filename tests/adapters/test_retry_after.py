"""Retry-After as Slack and Teams send it: seconds or an HTTP date, any case, str or list."""

from __future__ import annotations

from multidict import CIMultiDict
from slack_sdk.http_retry.response import HttpResponse

from adapters.retry_after import retry_after


def test_seconds() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"Retry-After": " 1.5 "}) == 1.5
    assert retry_after({"Retry-After": "-1"}) == 0.0


def test_absent_or_unreadable() -> None:
    assert retry_after({}) is None
    assert retry_after(None) is None
    assert retry_after({"Content-Type": "application/json"}) is None
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": ""}) is None
    assert retry_after({"Retry-After": []}) is None


def test_an_http_date() -> None:
    when = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after({"Retry-After": when}, now=1445412480.0) == 10.0
    assert retry_after({"Retry-After": when}, now=1445412500.0) == 0.0


def test_any_case() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"RETRY-AFTER": "2"}) == 2.0


def test_the_headers_slack_sdk_and_aiohttp_hand_over() -> None:
    # aiohttp's case-insensitive headers, as a SlackApiError's response carries them
    assert retry_after(CIMultiDict({"retry-after": "30"})) == 30.0
    # slack_sdk's retry handlers see every value as a list
    response = HttpResponse(status_code=429, headers={"Retry-After": "7"})
    assert response.headers == {"Retry-After": ["7"]}
    assert retry_after(response.headers) == 7.0
    assert retry_after({"Retry-After": ["4", "9"]}) == 4.0
