"""Retry-After as Slack and Teams send it (seconds or an HTTP date, any case, str or list),
and the one retry loop that honours it."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict
from slack_sdk.http_retry.response import HttpResponse

from adapters.outbound import Result
from adapters.retry_after import RetryPolicy, next_delay, retry_after, retrying


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


POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0, max_wait=30.0)


@pytest.mark.parametrize(("result", "attempt", "expected"), [
    (Result("posted"), 1, None),
    (Result("gone", "is_archived"), 1, None),
    (Result("failed", "invalid_auth"), 1, None),
    (Result("retry", "HTTP 500"), 1, 0.5),
    (Result("retry", "HTTP 500"), 2, 1.0),
    (Result("retry", "HTTP 500"), 3, 2.0),
    (Result("retry", "HTTP 500"), 4, None),  # the last try
    (Result("retry", "ratelimited", 3.0), 1, 3.0),
    (Result("retry", "ratelimited", 0.0), 2, 0.0),
    (Result("retry", "ratelimited", 20.0), 1, 10.0),  # asked within max_wait: capped
    (Result("retry", "ratelimited", 30.0), 1, 10.0),
    (Result("retry", "ratelimited", 31.0), 1, None),  # asked beyond max_wait: given up
])
def test_next_delay(result: Result, attempt: int, expected: float | None) -> None:
    assert next_delay(POLICY, result, attempt) == expected


def test_next_delay_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=5.0)
    delays = [next_delay(policy, Result("retry"), n) for n in range(1, 11)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, None]
    # Without a max_wait, any Retry-After is waited out, up to max_delay.
    assert next_delay(policy, Result("retry", retry_after=3600.0), 1) == 5.0


class Script:
    """Answers each try with the next result; records the waits instead of sleeping."""

    def __init__(self, *results: Result) -> None:
        self.results = list(results)
        self.tries = 0
        self.slept: list[float] = []
        self.told: list[tuple[str, int, float]] = []

    async def attempt(self) -> Result:
        self.tries += 1
        return self.results.pop(0)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def waiting(self, result: Result, number: int, delay: float) -> None:
        self.told.append((result.reason, number, delay))


@pytest.mark.parametrize(("answers", "tries", "slept", "last"), [
    ([Result("posted")], 1, [], "posted"),
    ([Result("gone", "x")], 1, [], "gone"),
    ([Result("retry", "HTTP 500"), Result("posted")], 2, [0.5], "posted"),
    ([Result("retry", "ratelimited", 2.0), Result("retry", "HTTP 503"), Result("posted")],
     3, [2.0, 1.0], "posted"),
    ([Result("retry", "HTTP 500")] * 4, 4, [0.5, 1.0, 2.0], "retry"),
    ([Result("retry", "ratelimited", 3600.0)], 1, [], "retry"),
    ([Result("retry", "HTTP 500"), Result("failed", "msg_too_long")], 2, [0.5], "failed"),
])
async def test_retrying(answers: list[Result], tries: int, slept: list[float],
                        last: str) -> None:
    script = Script(*answers)
    result = await retrying(script.attempt, POLICY, waiting=script.waiting, sleep=script.sleep)
    assert result.outcome == last and script.tries == tries and script.slept == slept
    assert [number for _, number, _ in script.told] == list(range(1, tries))
    assert [delay for *_, delay in script.told] == slept


async def test_retrying_adds_at_most_the_jitter() -> None:
    script = Script(Result("retry", "ratelimited", 1.0), Result("posted"))
    policy = RetryPolicy(attempts=2, jitter=0.05)
    assert (await retrying(script.attempt, policy, sleep=script.sleep)).outcome == "posted"
    assert 1.0 <= script.slept[0] <= 1.05
