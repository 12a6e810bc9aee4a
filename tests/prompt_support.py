"""What the daily prompt's tests share: fast settings, a job, a delivery to fake Slack."""

from __future__ import annotations

import datetime as dt

from adapters.outbound import Outbound
from bot.playbook_set import PlaybookSet
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import Job, PromptSettings

TOKEN = "xoxb-1111-2222-fakefakefake"
FAST = PromptSettings(rate=500, channel_interval=0.01, lease=5, grace=3600, workers=4)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def job(channel: str, at: dt.datetime = NOW) -> Job:
    sub = Subscription("slack", channel, at.time(), "UTC", EVERY_DAY)
    return Job(sub, at.date(), at)


def delivery(store: Store, outbound: Outbound, library: PlaybookSet,
             settings: PromptSettings = FAST) -> PromptDelivery:
    return PromptDelivery(store, {"slack": outbound}, lambda: library.playbooks, settings)
