"""Many Slack workspaces keep apart what they count, ask and subscribe: each workspace's
usage, questions, subscriptions, digests and call nudges are its own, and each of its posts
carries its own token and its own pace. Served as `touchpoint serve` serves them, against
the fake Slack API and a real Redis; a single workspace keeps the plain key layout."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.slack_api import FakeSlackAPI
from oauth_harness import FAST, NOW, ONE, TWO, Served, authorization, two_teams
from redis.asyncio import Redis

from adapters.outbound import ManyTeams
from adapters.redis_store import RedisStore
from bot import analytics
from bot.calls import Call
from bot.channels import digest_space
from bot.memory_store import MemoryStore
from bot.playbook_set import PlaybookSet
from bot.routing import Routing, parse_routing, slack_team
from bot.schedule import EVERY_DAY, Subscription
from bot.store import Store
from touchpoint.call_outbox import CallOutbox, OutboxSettings
from touchpoint.prompt_delivery import PromptDelivery
from touchpoint.prompt_jobs import Job
from touchpoint.prompt_schedule import read_chat
from touchpoint.scheduler import PromptScheduler

UNMATCHED = "what is the airspeed velocity of an unladen swallow"


@pytest.fixture
async def served(slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
                 redis_prefix: str, redis_store: RedisStore) -> AsyncIterator[Served]:
    async with two_teams(slack_api, library, redis_url, redis_prefix, redis_store) as running:
        assert await running.install("code-one") == 200
        assert await running.install("code-two") == 200
        yield running


def guided(library: PlaybookSet) -> tuple[str, str]:
    """A shipped example the matcher answers, and its playbook."""
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            best = library.matcher.match(text, "guide").best
            if best is not None:
                return text, best.playbook
    pytest.fail("no shipped example matches")


async def paces(redis_url: str, prefix: str) -> list[str]:
    async with Redis.from_url(redis_url) as raw:
        return sorted([k.decode().removeprefix(prefix)
                       async for k in raw.scan_iter(match=prefix + "pace:*")])


async def test_each_workspace_counts_and_keeps_its_own_questions(
        served: Served, library: PlaybookSet, redis_url: str, redis_prefix: str) -> None:
    text, playbook = guided(library)
    assert await served.command(text, ONE, "C0ONE") == 200
    assert await served.command(text, ONE, "C0ONE") == 200
    assert await served.command(UNMATCHED, TWO, "C0TWO") == 200
    await served.adapter.drain()
    week = analytics.iso_week(served.adapter.handler.clock())
    one, two = served.store.for_team("-:T0ONE"), served.store.for_team("-:T0TWO")
    assert await one.week_counters(week) == {f"guide:{playbook}": 2}
    assert await two.week_counters(week) == {"unmatched": 1}
    assert await one.questions(week, 10) == []
    assert await two.questions(week, 10) == [UNMATCHED]
    assert await served.store.counters() == {}  # nothing counted outside a workspace
    async with Redis.from_url(redis_url) as raw:
        keys = {k.decode().removeprefix(redis_prefix) async for k in raw.scan_iter(
            match=redis_prefix + "*") if b"@" in k}
    assert keys == {"counters:@-:T0ONE", f"week:@-:T0ONE:{week}", "counters:@-:T0TWO",
                    f"week:@-:T0TWO:{week}", f"questions:@-:T0TWO:{week}"}


async def test_a_not_helpful_answer_is_kept_in_its_workspace(
        served: Served, library: PlaybookSet) -> None:
    """`/touchpoint stats` and the digest read the corrections of the asker's workspace."""
    from bot import feedback
    from bot.events import ButtonPressed

    shown = library.playbooks[0].id
    form = json.dumps({"shown": shown, "question": "a question"})
    pressed = ButtonPressed(user="U1", channel="C0TWO", platform="slack", action=feedback.SUBMIT,
                            value=feedback.submission(form, feedback.NONE, "chatter"),
                            team="-:T0TWO")
    await served.adapter.handler.handle(pressed)
    week = analytics.iso_week(served.adapter.handler.clock())
    assert len(await served.store.for_team("-:T0TWO").corrections(week, 10)) == 1
    assert await served.store.for_team("-:T0ONE").corrections(week, 10) == []
    assert await served.store.corrections(week, 10) == []


async def test_subscriptions_are_per_workspace_and_post_with_its_token_and_pace(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str,
        redis_prefix: str) -> None:
    """A channel shared by two workspaces, subscribed in both, is two subscriptions: each
    posted once a day with its own workspace's token, paced under that workspace."""
    for team, channel in ((ONE, "C0ONE"), (TWO, "C0TWO"), (ONE, "C0SHARED"),
                          (TWO, "C0SHARED")):
        assert await served.command("subscribe 09:00 UTC daily", team, channel) == 200
    await served.adapter.drain()
    assert await served.command("unsubscribe", TWO, "C0SHARED") == 200
    await served.adapter.drain()  # answered in the background: one at a time here
    assert await served.store.for_team("-:T0ONE").subscriptions("slack") != {}
    assert set(await served.store.for_team("-:T0TWO").subscriptions("slack")) == {"C0TWO"}
    assert await served.command("subscribe 09:00 UTC daily", TWO, "C0SHARED") == 200
    await served.adapter.drain()
    outbound = served.adapter.outbound(served.store)
    try:
        assert isinstance(outbound, ManyTeams)
        assert await outbound.teams() == {"-:T0ONE", "-:T0TWO"}
        chat = await read_chat(served.store, ["slack"], await outbound.teams())
        assert sorted(s.key for s in chat.prompts) == [
            "slack@-:T0ONE:C0ONE", "slack@-:T0ONE:C0SHARED", "slack@-:T0TWO:C0SHARED",
            "slack@-:T0TWO:C0TWO"]
        delivery = PromptDelivery(served.store, {"slack": outbound},
                                  lambda: library.playbooks, FAST)
        for sub in chat.prompts:
            assert await delivery.post(Job(sub, NOW.date(), NOW)) == "posted"
            assert await delivery.post(Job(sub, NOW.date(), NOW)) == "already"
    finally:
        await outbound.close()
    sent = sorted((c.body["channel"], authorization(c)) for c in slack_api.delivered())
    assert sent == sorted([("C0ONE", f"Bearer {ONE.token}"), ("C0SHARED", f"Bearer {ONE.token}"),
                           ("C0SHARED", f"Bearer {TWO.token}"),
                           ("C0TWO", f"Bearer {TWO.token}")])
    assert await paces(redis_url, redis_prefix) == ["pace:rate:slack:-:T0ONE",
                                                    "pace:rate:slack:-:T0TWO"]
    async with Redis.from_url(redis_url) as raw:
        rotations = {k.decode().removeprefix(redis_prefix) async for k in raw.scan_iter(
            match=redis_prefix + "rotation:*")}
    assert rotations == {"rotation:@-:T0ONE:slack@-:T0ONE:C0ONE",
                         "rotation:@-:T0ONE:slack@-:T0ONE:C0SHARED",
                         "rotation:@-:T0TWO:slack@-:T0TWO:C0SHARED",
                         "rotation:@-:T0TWO:slack@-:T0TWO:C0TWO"}


async def test_each_workspaces_digest_tells_its_own_week(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet) -> None:
    clock = served.adapter.handler.clock
    served.adapter.handler.clock = lambda: NOW.timestamp() - 7 * 86400
    try:
        assert await served.command(UNMATCHED, ONE, "C0ONE") == 200
        assert await served.command("what about the weather on mars", TWO, "C0TWO") == 200
        await served.adapter.drain()
    finally:
        served.adapter.handler.clock = clock
    for team in ("-:T0ONE", "-:T0TWO"):
        channel = "C0DIG" + team[-3:]
        sub = Subscription("slack", channel, NOW.time(), "UTC", (NOW.weekday(),))
        await served.store.for_team(team).subscribe(digest_space("slack"), channel,
                                                    sub.to_json())
    outbound = served.adapter.outbound(served.store)
    try:
        chat = await read_chat(served.store, ["slack"], {"-:T0ONE", "-:T0TWO"})
        delivery = PromptDelivery(served.store, {"slack": outbound},
                                  lambda: library.playbooks, FAST)
        for sub in chat.digests:
            assert await delivery.post(Job(sub, NOW.date(), NOW)) == "posted"
    finally:
        await outbound.close()
    digests = {c.body["channel"]: (authorization(c), json.dumps(c.body))
               for c in slack_api.delivered()}
    assert set(digests) == {"C0DIGONE", "C0DIGTWO"}
    assert digests["C0DIGONE"][0] == f"Bearer {ONE.token}"
    assert "swallow" in digests["C0DIGONE"][1] and "mars" not in digests["C0DIGONE"][1]
    assert digests["C0DIGTWO"][0] == f"Bearer {TWO.token}"
    assert "mars" in digests["C0DIGTWO"][1] and "swallow" not in digests["C0DIGTWO"][1]


SHARED_IN_GIT = """
prompts:
  - platform: slack
    channel: C0GITSHARED
    time: "09:00"
    zone: UTC
    weekdays: daily
    slack_team: T0ONE
  - platform: slack
    channel: C0GITSHARED
    time: "09:00"
    zone: UTC
    weekdays: daily
    slack_team: T0TWO
  - platform: slack
    channel: C0GITTWO
    time: "09:00"
    zone: UTC
    weekdays: daily
    slack_team: T0TWO
"""


async def test_schedule_yaml_names_the_workspace_a_channel_is_posted_in(
        served: Served, slack_api: FakeSlackAPI, library: PlaybookSet, tmp_path: Path,
        redis_url: str, redis_prefix: str) -> None:
    """schedule.yaml's `slack_team` posts with that workspace's token and pace although no
    request from the channel told which workspace it is in; a shared channel listed for
    both gets each workspace's prompt, and a workspace's own chat subscription replaces
    only that workspace's entry."""
    (tmp_path / "schedule.yaml").write_text(SHARED_IN_GIT)
    chatted = Subscription("slack", "C0GITSHARED", dt.time(9), "UTC", EVERY_DAY)
    await served.store.for_team("-:T0TWO").subscribe("slack", "C0GITSHARED", chatted.to_json())
    outbound = served.adapter.outbound(served.store)
    prompts = PromptScheduler(served.store, {"slack": outbound}, lambda: library.playbooks,
                              lambda: tmp_path, FAST,
                              clock=lambda: NOW + dt.timedelta(minutes=5))
    prompts.queue.start()
    try:
        await prompts.refresh()
        assert sorted((s.key, s.source) for s in prompts.subscriptions) == [
            ("slack@-:T0ONE:C0GITSHARED", "schedule.yaml:3"),
            ("slack@-:T0TWO:C0GITSHARED", "chat"),
            ("slack@-:T0TWO:C0GITTWO", "schedule.yaml:15")]
        await prompts.queue.wait_idle()
        await prompts.refresh()  # a day's prompt once, whatever the refreshes
        await prompts.queue.wait_idle()
    finally:
        await prompts.queue.stop()
        await outbound.close()
    for channel in ("C0GITSHARED", "C0GITTWO"):
        assert await served.installs.channels.team_of(channel) is None
    sent = sorted((c.body["channel"], authorization(c)) for c in slack_api.delivered())
    assert sent == [("C0GITSHARED", f"Bearer {ONE.token}"), ("C0GITSHARED", f"Bearer {TWO.token}"),
                    ("C0GITTWO", f"Bearer {TWO.token}")]
    assert await paces(redis_url, redis_prefix) == ["pace:rate:slack:-:T0ONE",
                                                    "pace:rate:slack:-:T0TWO"]


def nudging(library: PlaybookSet) -> str:
    """A shipped example the matcher nudges on in a channel."""
    for playbook in library.playbooks:
        for text in playbook.examples.match:
            if library.matcher.match(text, "nudge").best is not None:
                return text
    pytest.fail("no shipped example nudges")


async def test_nudges_off_and_mutes_hold_in_every_workspace(
        served: Served, library: PlaybookSet) -> None:
    """A shared channel has one id, and Slack delivers its messages once, under any one of
    the workspaces: switching its nudges off, and a person's mute, are not the workspace's."""
    from bot.events import Said

    text = nudging(library)

    async def nudged(channel: str, team: str, user: str = "U0OTHER") -> bool:
        said = Said(user=user, channel=channel, platform="slack", text=text, via="channel",
                    team=team)
        return bool(await served.adapter.handler.handle(said))

    assert await served.command("nudges off", ONE, "C0SHARED") == 200
    assert await served.command("mute", TWO, "C0TWO") == 200  # by U0PERSON
    await served.adapter.drain()
    assert not await nudged("C0SHARED", "-:T0TWO")
    assert not await nudged("C0SHARED", "-:T0ONE")
    assert not await nudged("C0ONE", "-:T0ONE", user="U0PERSON")
    assert await nudged("C0ONE", "-:T0ONE")
    assert await served.store.nudges_off("slack") == {"C0SHARED": "slack:U0PERSON"}
    assert await served.store.for_team("-:T0TWO").nudges_off("slack") == {
        "C0SHARED": "slack:U0PERSON"}


ROUTED = """
slack_team: T0ONE
routes:
  - email_domain: two.example.com
    channel: slack:C0TWOCALLS
    slack_team: T0TWO
"""


async def test_a_call_nudge_looks_up_and_posts_in_the_workspace_its_route_names(
        served: Served, slack_api: FakeSlackAPI) -> None:
    slack_api.add_person("rep@two.example.com", "U0REPTWO")
    slack_api.add_person("rep@one.example.com", "U0REPONE")
    routing = parse_routing("routing.yaml", ROUTED)
    outbound = served.adapter.outbound(served.store)
    outbox = CallOutbox(served.store, served.adapter.handler, {"slack": outbound},
                        lambda: routing, OutboxSettings())
    try:
        for n, domain in enumerate(("two.example.com", "one.example.com")):
            call = Call(source="hook", id=f"c{n}", customer="Acme", texts=("renewal call",),
                        owner_email=f"rep@{domain}")
            assert await outbox.accept(call) == "added"
            assert await outbox.deliver(call.key, (await served.store.outbox(10))[call.key]) \
                == "posted"
    finally:
        await outbound.close()
    looked_up = [authorization(c) for c in slack_api.calls("users.lookupByEmail")]
    assert looked_up == [f"Bearer {TWO.token}", f"Bearer {ONE.token}"]
    posted = [(c.body["channel"], authorization(c)) for c in slack_api.delivered()]
    assert posted == [("C0TWOCALLS", f"Bearer {TWO.token}"), ("U0REPONE", f"Bearer {ONE.token}")]
    week = analytics.iso_week(served.adapter.handler.clock())
    for team in ("-:T0ONE", "-:T0TWO"):
        assert (await served.store.for_team(team).week_counters(week)).get("call_ended") == 1


def test_a_routes_workspace_is_checked_and_read_as_the_adapter_keys_it() -> None:
    assert slack_team("T0ONE") == "-:T0ONE"
    assert slack_team("E0ORG:T0ORGA") == "E0ORG:T0ORGA"
    assert slack_team("") == ""
    for wrong in ("general", "C0123ABC", "E0ORG", "t0one"):
        with pytest.raises(ValueError, match="Slack workspace id"):
            slack_team(wrong)
    with pytest.raises(Exception, match="slack_team goes with a slack: channel"):
        parse_routing("routing.yaml", "routes:\n  - email_domain: a.example.com\n"
                      "    channel: teams:19:abc@thread.tacv2\n    slack_team: T0ONE\n")
    assert parse_routing("routing.yaml", ROUTED).routes[0].slack_team == "-:T0TWO"
    assert Routing().slack_team == ""


@pytest.fixture(params=["memory", "redis"])
async def any_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    store = RedisStore.from_url(request.getfixturevalue("redis_url"),
                                request.getfixturevalue("redis_prefix"))
    yield store
    await store.close()


async def test_a_workspace_view_shares_everything_but_usage_and_subscriptions(
        any_store: Store) -> None:
    store = any_store
    one, two = store.for_team("-:T1"), store.for_team("-:T2")
    assert store.for_team("") is store and store.for_team("-:T1") is one
    assert one.for_team("-:T2") is two and two.for_team("") is store
    await one.incr_counts("2026-W10", "usage")
    await one.subscribe("slack", "C1", "{}")
    await one.flag("slack", "C1", "gone")
    await one.set_muted("slack:U1", True)
    assert await one.first_time("event:slack:Ev1", 60)
    assert await one.counters() == {"usage": 1}
    assert await two.counters() == {} and await store.counters() == {}
    assert await two.subscriptions("slack") == {} and await two.flagged("slack") == {}
    assert await store.is_muted("slack:U1") and not await store.first_time("event:slack:Ev1", 60)
    assert await one.pick_prompt("slack:C1", "2026-03-02", ["a", "b"]) == "a"
    assert await one.pick_prompt("slack:C1", "2026-03-03", ["a", "b"]) == "b"
    assert await two.pick_prompt("slack:C1", "2026-03-03", ["a", "b"]) == "a"


async def test_one_workspace_keeps_the_plain_layout(
        slack_api: FakeSlackAPI, library: PlaybookSet, redis_url: str, redis_prefix: str,
        redis_store: RedisStore) -> None:
    """Events without a workspace (one token, Teams) count and subscribe as before."""
    from bot.events import Said
    from bot.handler import Handler

    handler = Handler(library, redis_store)
    await handler.handle(Said(user="U1", channel="C1", platform="slack", text=UNMATCHED,
                              via="command"))
    await handler.handle(Said(user="U1", channel="C1", platform="slack",
                              text="subscribe 09:00 UTC", via="command"))
    async with Redis.from_url(redis_url) as raw:
        keys = {k.decode().removeprefix(redis_prefix) async for k in raw.scan_iter(
            match=redis_prefix + "*")}
    week = analytics.iso_week(handler.clock())
    assert keys == {"counters", f"week:{week}", f"questions:{week}", "subs:slack"}
    sub = Subscription("slack", "C1", dt.time(9), "UTC", EVERY_DAY)
    assert sub.key == "slack:C1"
    assert dataclasses.replace(sub, team="-:T1").key == "slack@-:T1:C1"
