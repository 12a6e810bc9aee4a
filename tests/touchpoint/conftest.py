"""Fixtures of the process's tests: a Slack poster of the daily prompts to the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.slack_api import FakeSlackAPI
from prompt_support import TOKEN

from adapters.slack.outbound import SlackOutbound
from adapters.slack.web import web_client


@pytest.fixture
async def outbound(slack_api: FakeSlackAPI) -> AsyncIterator[SlackOutbound]:
    sender = SlackOutbound(web_client(TOKEN, slack_api.url), timeout=2, owns_client=True)
    yield sender
    await sender.close()
