"""Fixtures of the process's tests: a Slack poster of the daily prompts to the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.slack_api import FakeSlackAPI
from prompt_support import TOKEN

from adapters.slack_outbound import SlackOutbound


@pytest.fixture
async def outbound(slack_api: FakeSlackAPI) -> AsyncIterator[SlackOutbound]:
    sender = SlackOutbound(TOKEN, slack_api.url, timeout=2)
    yield sender
    await sender.close()
