"""The prompt schedule: `schedule.yaml`, chat subscriptions, due times and the rotation order."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.playbook_set import PlaybookSet
from bot.playbooks import PlaybookErrors
from bot.prompts import INVITATION, prompt_pool, prompt_reply, rotation
from bot.schedule import (
    EVERY_DAY,
    WORKDAYS,
    Subscription,
    merge,
    parse_schedule,
    parse_subscribe,
    parse_weekdays,
)

IDS = ("renewal", "happy-customer", "unhappy-customer")
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlaybookErrors) as caught:
        parse_schedule("playbooks/schedule.yaml", text, IDS)
    return [str(e) for e in caught.value.errors]


GOOD = """\
prompts:
  - platform: slack
    channel: C0123SALES
    time: 9:30
    zone: Europe/Berlin
  - platform: teams
    channel: "19:abc@thread.tacv2"
    time: "16:00"
    zone: america/new_york
    weekdays: [mon, wed, fri]
    playbooks: [renewal]
"""


def test_a_good_schedule() -> None:
    berlin, boston = parse_schedule("playbooks/schedule.yaml", GOOD, IDS)
    assert berlin == Subscription("slack", "C0123SALES", dt.time(9, 30), "Europe/Berlin",
                                  WORKDAYS, (), "schedule.yaml:2")
    assert boston.zone == "America/New_York" and boston.weekdays == (0, 2, 4)
    assert boston.playbooks == ("renewal",) and boston.source == "schedule.yaml:6"
    assert berlin.describe() == "09:30 Europe/Berlin, Mon-Fri"


def test_an_empty_schedule() -> None:
    assert parse_schedule("s.yaml", "prompts: []\n", IDS) == []


@pytest.mark.parametrize("text, expected", [
    ("prompts:\n  - platform: slak\n    channel: C0123SALES\n    time: '09:00'\n"
     "    zone: UTC\n", "playbooks/schedule.yaml:2:5: prompts[0].platform: must be slack or teams"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '25:00'\n"
     "    zone: UTC\n", "playbooks/schedule.yaml:4:5: prompts[0].time: '25:00' is not a time"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '09:00'\n"
     "    zone: Europe/Berln\n", "playbooks/schedule.yaml:5:5: prompts[0].zone: 'Europe/Berln' "
     "is not a time zone (did you mean Europe/Berlin"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '09:00'\n"
     "    zone: UTC\n    weekdays: mon-fry\n", "playbooks/schedule.yaml:6:5: "
     "prompts[0].weekdays: 'fry' is not a day of the week"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '09:00'\n"
     "    zone: UTC\n    wekdays: daily\n", "playbooks/schedule.yaml:6:5: prompts[0].wekdays: "
     "unknown field (check the spelling; allowed: platform, channel, time, zone, weekdays, "
     "playbooks, slack_team)"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '09:00'\n"
     "    zone: UTC\n    slack_team: '#sales'\n", "playbooks/schedule.yaml:6:5: "
     "prompts[0].slack_team: must be a Slack workspace id like T0123ABCD, or "
     "E0123ABCD:T0123ABCD"),
    ("prompts:\n  - platform: teams\n    channel: '19:a@thread.tacv2'\n    time: '09:00'\n"
     "    zone: UTC\n    slack_team: T0ONE\n", "playbooks/schedule.yaml:2:5: prompts[0]: "
     "slack_team goes with platform: slack"),
    ("prompts:\n  - platform: slack\n    time: '09:00'\n    zone: UTC\n",
     "playbooks/schedule.yaml:2:5: prompts[0].channel: is required"),
    ("prompt: []\n", "playbooks/schedule.yaml:1:1: prompt: unknown field (check the spelling; "
     "allowed: prompts)"),
    ("prompts:\n  - platform: slack\n    channel: '#sales'\n    time: '09:00'\n    zone: UTC\n",
     "playbooks/schedule.yaml:2:5: prompts[0].channel: must be a Slack channel id like C0123ABCD"),
    ("prompts:\n  - platform: slack\n    channel: C0123SALES\n    time: '09:00'\n    zone: UTC\n"
     "    playbooks: [renewl]\n", "playbooks/schedule.yaml:2:5: prompts[0].playbooks[0]: "
     "no playbook 'renewl'; did you mean renewal?"),
    ("prompts: [\n", "playbooks/schedule.yaml:2:1: not valid YAML"),
    ("- platform: slack\n", "playbooks/schedule.yaml:1:1: must be a mapping of fields"),
])
def test_errors_name_file_line_column_and_field(text: str, expected: str) -> None:
    found = errors_of(text)
    assert any(e.startswith(expected) for e in found), found


def test_every_error_at_once_and_a_channel_only_once() -> None:
    shape = errors_of("prompts:\n  - platform: slack\n    time: noon\n    zone: Mars/Base\n")
    assert [e.split(": ")[1] for e in shape] == ["prompts[0].channel", "prompts[0].time",
                                                  "prompts[0].zone"]
    text = GOOD + ("  - platform: slack\n    channel: C0123SALES\n    time: '10:00'\n"
                   "    zone: UTC\n    playbooks: [renewal, nope]\n")
    assert errors_of(text) == [
        "playbooks/schedule.yaml:12:5: prompts[2].playbooks[1]: no playbook 'nope'",
        "playbooks/schedule.yaml:12:5: prompts[2].channel: C0123SALES is already scheduled "
        "at line 2",
    ]


def test_each_entry_is_named_by_the_line_its_item_starts_on() -> None:
    text = ("# who gets the prompt\n\nprompts:\n\n-\n    platform: slack\n"
            "    channel: C0123SALES\n    time: '9:00'\n    zone: UTC\n"
            "- {platform: slack, channel: C0123SALES,\n   time: '9:00', zone: UTC}\n"
            "- {platform: teams, channel: x, time: '9:00', zone: UTC, playbooks: [renewl]}\n")
    assert errors_of(text) == [
        "playbooks/schedule.yaml:10:5: prompts[1].channel: C0123SALES is already scheduled "
        "at line 6",
        "playbooks/schedule.yaml:12:5: prompts[2].playbooks[0]: no playbook 'renewl'; "
        "did you mean renewal?",
    ]
    text = text.replace("channel: C0123SALES,", "channel: C0123OTHER,").replace("renewl", "renewal")
    assert [s.source for s in parse_schedule("playbooks/schedule.yaml", text, IDS)] == [
        "schedule.yaml:6", "schedule.yaml:10", "schedule.yaml:12"]


def test_anchors_are_refused_like_in_playbooks() -> None:
    text = "prompts:\n  - &a {platform: slack}\n  - *a\n"
    assert any("anchors and aliases" in e for e in errors_of(text))


@pytest.mark.parametrize("text, days", [
    ("mon-fri", WORKDAYS), ("daily", EVERY_DAY), ("weekends", (5, 6)),
    ("mon,wed,fri", (0, 2, 4)), ("Tuesday thu", (1, 3)), ("fri-mon", (0, 4, 5, 6)),
])
def test_weekdays(text: str, days: tuple[int, ...]) -> None:
    assert parse_weekdays(text) == days


def test_subscribe_from_chat() -> None:
    sub = parse_subscribe("slack", "C1", "9:00 europe/berlin mon,wed")
    assert (sub.at, sub.zone, sub.weekdays) == (dt.time(9), "Europe/Berlin", (0, 2))
    assert Subscription.from_json("slack", "C1", sub.to_json()) == sub
    assert parse_subscribe("slack", "C1", "07:15:30 UTC").weekdays == WORKDAYS


@pytest.mark.parametrize("args, problem", [
    ("", "say when and in which time zone"),
    ("09:00", "say when and in which time zone"),
    ("9am Europe/Berlin", "'9am' is not a time"),
    ("09:00 Berlin", "'Berlin' is not a time zone"),
    ("09:00 UTC someday", "'someday' is not a day"),
])
def test_subscribe_mistakes_are_explained(args: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_subscribe("slack", "C1", args)


def test_damaged_subscription() -> None:
    with pytest.raises(ValueError, match="damaged"):
        Subscription.from_json("slack", "C1", '{"time": "09:00"}')


BERLIN = Subscription("slack", "C1", dt.time(9), "Europe/Berlin", WORKDAYS)


def test_last_and_next_run_follow_the_local_clock_and_weekdays() -> None:
    saturday = at("2024-06-01T12:00:00+00:00")
    assert BERLIN.last_run(saturday) == (dt.date(2024, 5, 31), at("2024-05-31T07:00:00+00:00"))
    assert BERLIN.next_run(saturday) == (dt.date(2024, 6, 3), at("2024-06-03T07:00:00+00:00"))
    monday_9 = at("2024-06-03T09:00:00+02:00")
    assert BERLIN.last_run(monday_9) == (dt.date(2024, 6, 3), monday_9)
    assert BERLIN.next_run(monday_9)[0] == dt.date(2024, 6, 4)


def test_daylight_saving_keeps_the_local_time() -> None:
    before = BERLIN.next_run(at("2024-03-29T12:00:00+00:00"))
    after = BERLIN.next_run(at("2024-04-01T12:00:00+00:00"))
    assert before[1] == at("2024-04-01T07:00:00+00:00")
    assert after[1] == at("2024-04-02T07:00:00+00:00")
    assert after[1].astimezone(BERLIN.tz).hour == 9


def test_a_time_skipped_by_daylight_saving_still_posts_that_day() -> None:
    night = Subscription("slack", "C1", dt.time(2, 30), "Europe/Berlin", EVERY_DAY)
    day, instant = night.next_run(at("2024-03-30T12:00:00+00:00"))
    assert day == dt.date(2024, 3, 31) and instant == at("2024-03-31T01:30:00+00:00")


def test_a_time_repeated_when_the_clocks_go_back_is_one_run_at_its_first_occurrence() -> None:
    night = Subscription("slack", "C1", dt.time(2, 30), "Europe/Berlin", EVERY_DAY)
    first = at("2027-10-31T00:30:00+00:00")  # 02:30 CEST; 02:30 CET is 01:30 UTC
    assert night.next_run(at("2027-10-30T12:00:00+00:00")) == (dt.date(2027, 10, 31), first)
    assert night.next_run(first) == (dt.date(2027, 11, 1), at("2027-11-01T01:30:00+00:00"))
    assert night.last_run(at("2027-10-31T01:30:00+00:00")) == (dt.date(2027, 10, 31), first)


def test_a_chat_subscription_replaces_the_git_entry() -> None:
    git = parse_schedule("playbooks/schedule.yaml", GOOD, IDS)
    chat = [Subscription("slack", "C0123SALES", dt.time(8), "UTC")]
    merged = merge(git, chat)
    assert [(s.key, s.source) for s in merged] == [("slack:C0123SALES", "chat"),
                                                    ("teams:19:abc@thread.tacv2",
                                                     "schedule.yaml:6")]


def entry(channel: str, team: str = "") -> str:
    return (f"  - platform: slack\n    channel: {channel}\n    time: '09:00'\n    zone: UTC\n"
            + (f"    slack_team: {team}\n" if team else ""))


def test_a_slack_entry_names_its_workspace_as_routing_yaml_does() -> None:
    """Read as the Slack adapter keys workspaces; a channel shared by workspaces may be
    listed once for each, never once with a workspace and once without."""
    text = "prompts:\n" + entry("C0SHARED", "T0ONE") + entry("C0SHARED", "E0ORG:T0TWO") \
        + entry("C0PLAIN")
    one, two, plain = parse_schedule("playbooks/schedule.yaml", text, IDS)
    assert (one.team, two.team, plain.team) == ("-:T0ONE", "E0ORG:T0TWO", "")
    assert (one.key, two.key, plain.key) == (
        "slack@-:T0ONE:C0SHARED", "slack@E0ORG:T0TWO:C0SHARED", "slack:C0PLAIN")
    assert one.place == two.place == "slack:C0SHARED"
    for second in (entry("C0SHARED", "-:T0ONE"), entry("C0SHARED")):
        assert errors_of(text + second) == [
            "playbooks/schedule.yaml:16:5: prompts[3].channel: C0SHARED is already scheduled "
            "at line 2 (in a shared channel, give each entry its own slack_team)"]
    assert errors_of("prompts:\n" + entry("C0PLAIN") + entry("C0PLAIN", "T0ONE")) == [
        "playbooks/schedule.yaml:6:5: prompts[1].channel: C0PLAIN is already scheduled "
        "at line 2 (in a shared channel, give each entry its own slack_team)"]


def test_a_workspaces_chat_subscription_replaces_only_its_workspaces_entry() -> None:
    text = "prompts:\n" + entry("C0SHARED", "T0ONE") + entry("C0SHARED", "T0TWO") \
        + entry("C0PLAIN")
    git = parse_schedule("playbooks/schedule.yaml", text, IDS)

    def merged(*chat: tuple[str, str]) -> list[tuple[str, str]]:
        subs = [Subscription("slack", channel, dt.time(8), "UTC", team=team)
                for channel, team in chat]
        return [(s.key, s.source) for s in merge(git, subs)]

    assert merged(("C0SHARED", "-:T0TWO"), ("C0PLAIN", "-:T0ONE")) == [
        ("slack@-:T0ONE:C0PLAIN", "chat"), ("slack@-:T0ONE:C0SHARED", "schedule.yaml:2"),
        ("slack@-:T0TWO:C0SHARED", "chat")]
    assert merged(("C0SHARED", "")) == [("slack:C0PLAIN", "schedule.yaml:12"),
                                        ("slack:C0SHARED", "chat")]


def test_rotation_is_per_channel_and_stable(library: PlaybookSet) -> None:
    pool = prompt_pool(library.playbooks)
    assert len(pool) == len({p.text for p in pool}) >= 14 * 3
    one, again = rotation("slack:C1", pool), rotation("slack:C1", list(reversed(pool)))
    assert one == again
    assert [p.id for p in one] != [p.id for p in rotation("slack:C2", pool)]
    only = prompt_pool(library.playbooks, ["renewal"])
    assert {p.playbook for p in only} == {"renewal"}


def test_the_prompt_reply(library: PlaybookSet) -> None:
    prompt = prompt_pool(library.playbooks, ["renewal"])[0]
    reply = prompt_reply(prompt)
    assert prompt.text in reply.text and not reply.ephemeral
    assert reply.sections[-1].text == INVITATION == "How did you live it today? Tell us in the " \
                                                    "thread."
    assert [(b.action, b.value) for b in reply.buttons] == [("show", "renewal")]
