"""When and where the daily brand-promise prompt is posted: `schedule.yaml` and chat subscriptions.

Pure: times are computed from an `now` the caller passes in, so the
scheduler, the CLI and the tests agree on what is due without a clock here.
A schedule is a local time in an IANA zone, so "09:00 Europe/Berlin" stays
09:00 for the people in that channel across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.messages import PLATFORMS
from bot.playbooks import PlaybookError, PlaybookErrors, parse_located
from bot.routing import slack_team

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_WORDS = {"daily": EVERY_DAY, "everyday": EVERY_DAY, "every-day": EVERY_DAY,
          "weekdays": WORKDAYS, "workdays": WORKDAYS, "weekends": (5, 6), "weekend": (5, 6)}


def parse_time(text: str) -> dt.time:
    """`09:00`, `9:00` or `09:00:30` (24-hour clock)."""
    found = _TIME.match(text.strip())
    if found is None:
        raise ValueError(f"{text.strip()!r} is not a time: use HH:MM on the 24-hour clock, "
                         "e.g. 09:00 or 16:30")
    hour, minute, second = found.groups()
    return dt.time(int(hour), int(minute), int(second or 0))


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_zone(text: str) -> str:
    """An IANA zone name, its case forgiven (`europe/berlin`); anything else is explained."""
    name = text.strip()
    zones = _zones()
    if name in zones:
        return name
    folded = {z.lower(): z for z in zones}
    if name.lower() in folded:
        return folded[name.lower()]
    close = difflib.get_close_matches(name, sorted(zones), n=2, cutoff=0.75)
    hint = f" (did you mean {' or '.join(close)}?)" if close else \
        " (an IANA name such as Europe/Berlin, America/New_York or UTC)"
    raise ValueError(f"{name!r} is not a time zone{hint}")


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(word: str) -> int:
    """`mon`, `Tues`, `thursday`: at least three letters of a day's name."""
    key = word.strip().lower()
    for index, name in enumerate(_FULL_NAMES):
        if len(key) >= 3 and name.startswith(key):
            return index
    raise ValueError(f"{word.strip()!r} is not a day of the week (mon, tue, ... sun)")


def parse_weekdays(value: str | Sequence[str]) -> tuple[int, ...]:
    """`mon-fri`, `daily`, `weekends`, `mon,wed,fri`, `fri-mon` or a list of day names."""
    parts = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    days: set[int] = set()
    for part in parts:
        if not isinstance(part, str):
            raise ValueError("days must be names like mon, tue, ... sun")
        word = part.strip().lower()
        if word in _WORDS:
            days.update(_WORDS[word])
        elif "-" in word:
            first, _, last = word.partition("-")
            start, end = _day(first), _day(last)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_day(word))
    if not days:
        raise ValueError("name at least one day, e.g. mon-fri or daily")
    return tuple(sorted(days))


def describe_weekdays(days: Sequence[int]) -> str:
    chosen = tuple(sorted(days))
    if chosen == EVERY_DAY:
        return "every day"
    if chosen == WORKDAYS:
        return "Mon-Fri"
    if len(chosen) > 2 and chosen == tuple(range(chosen[0], chosen[-1] + 1)):
        return f"{DAY_NAMES[chosen[0]].title()}-{DAY_NAMES[chosen[-1]].title()}"
    return ", ".join(DAY_NAMES[d].title() for d in chosen)


@dataclass(frozen=True)
class Subscription:
    """One channel's daily prompt: at `at` local time in `zone`, on `weekdays` (0 is Monday).

    `playbooks` narrows the prompts to those playbooks' (empty: all of them);
    `source` says where it was made: `chat`, or `schedule.yaml:LINE`. `since`, when set,
    is when it was made in chat: no run before it is due, so subscribing at 09:10 to
    09:00 starts tomorrow, as the confirmation says, instead of catching up today's.
    """

    platform: str
    channel: str
    at: dt.time
    zone: str
    weekdays: tuple[int, ...] = WORKDAYS
    playbooks: tuple[str, ...] = ()
    source: str = "chat"
    since: dt.datetime | None = None
    digest: bool = False
    """The weekly digest (`/touchpoint digest weekly`) instead of the prompt of the day:
    scheduled, claimed and posted by the same machinery, under keys of its own."""
    team: str = ""
    """The Slack workspace it was made in, when Touchpoint serves many (`Store.for_team`):
    its prompts rotate, its digest counts and its posts go out in that workspace alone."""

    @property
    def key(self) -> str:
        """The channel's name in the store: one post per key and day. `slack:C0123`, or
        `slack@E0123:T0456:C0123` for a workspace's own subscription, so the same shared
        channel subscribed in two workspaces is two subscriptions."""
        where = f"{self.platform}@{self.team}" if self.team else self.platform
        return f"{where}:{self.channel}"

    @property
    def place(self) -> str:
        """`platform:channel`, whichever workspace: what a schedule.yaml entry is known by."""
        return f"{self.platform}:{self.channel}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def time_shown(self) -> str:
        return self.at.strftime("%H:%M:%S" if self.at.second else "%H:%M")

    def describe(self) -> str:
        return f"{self.time_shown} {self.zone}, {describe_weekdays(self.weekdays)}"

    def run_on(self, day: dt.date) -> dt.datetime:
        """The instant of the post on a local date: the one place daylight saving is decided.

        A time the clocks repeat (autumn) is its first occurrence; a time they skip
        (spring) is read with the offset before the change, so it comes an hour later by
        the wall clock (02:30 becomes 03:30), still that day.
        """
        local = dt.datetime.combine(day, self.at, tzinfo=self.tz)
        return local.astimezone(dt.UTC)

    def last_run(self, now: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
        """The latest scheduled (local date, instant) at or before `now`, within a week."""
        today = now.astimezone(self.tz).date()
        for back in range(8):
            day = today - dt.timedelta(days=back)
            if day.weekday() in self.weekdays and self.run_on(day) <= now:
                if self.since is not None and self.run_on(day) < self.since:
                    return None
                return day, self.run_on(day)
        return None

    def next_run(self, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
        """The first scheduled (local date, instant) after `now`."""
        today = now.astimezone(self.tz).date()
        for ahead in range(9):
            day = today + dt.timedelta(days=ahead)
            if day.weekday() in self.weekdays and self.run_on(day) > now:
                return day, self.run_on(day)
        raise AssertionError("a schedule with no weekday")

    def to_json(self) -> str:
        data: dict[str, object] = {"time": self.at.isoformat(), "zone": self.zone,
                                   "weekdays": list(self.weekdays),
                                   "playbooks": list(self.playbooks)}
        if self.since is not None:
            data["since"] = self.since.astimezone(dt.UTC).isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, platform: str, channel: str, text: str) -> Subscription:
        """A stored chat subscription; raises ValueError for a damaged one."""
        try:
            data = json.loads(text)
            days = tuple(sorted({int(d) for d in data["weekdays"]}))
            if not days or any(not 0 <= d <= 6 for d in days):
                raise ValueError("weekdays out of range")
            since = dt.datetime.fromisoformat(data["since"]) if "since" in data else None
            if since is not None and since.tzinfo is None:
                raise ValueError("since has no time zone")
            return cls(platform, channel, dt.time.fromisoformat(data["time"]),
                       parse_zone(data["zone"]), days,
                       tuple(str(p) for p in data.get("playbooks", ())), since=since)
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"damaged subscription {text[:80]!r}") from exc


def parse_subscribe(platform: str, channel: str, args: str) -> Subscription:
    """`09:00 Europe/Berlin [mon-fri]` from chat; ValueError says what to fix."""
    words = args.split()
    if len(words) < 2:
        raise ValueError("say when and in which time zone, e.g. 09:00 Europe/Berlin "
                         "(optionally the days: mon-fri, daily, mon,wed,fri)")
    at = parse_time(words[0])
    zone = parse_zone(words[1])
    days = parse_weekdays(" ".join(words[2:])) if words[2:] else WORKDAYS
    return Subscription(platform, channel, at, zone, days)


# schedule.yaml ------------------------------------------------------------------------------


class ScheduledPrompt(BaseModel):
    """One channel's entry in `schedule.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    platform: str = Field(description="slack or teams.")
    channel: str = Field(description="Slack channel id (C0123ABCD, not #name) or Teams "
                         "conversation id (19:...@thread.tacv2).")
    time: str = Field(description="Local time on the 24-hour clock, quoted: \"09:00\".")
    zone: str = Field(description="IANA time zone of the channel's people, e.g. Europe/Berlin.")
    weekdays: str | list[str] = Field(default="mon-fri", description="mon-fri (default), "
                                      "daily, weekends, or a list like [mon, wed, fri].")
    playbooks: list[str] = Field(default_factory=list, description="Only these playbooks' "
                                 "prompts (default: every playbook's).")
    slack_team: str = Field(default="", description="The Slack workspace the channel is in "
                            "(T0123ABCD, or E0123ABCD:T0123ABCD in Enterprise Grid), when "
                            "Touchpoint is installed in many: posted with that workspace's "
                            "token, its prompts rotating in that workspace.")

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError("must be " + " or ".join(PLATFORMS))
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_time(value)
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return parse_zone(value)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: str | list[str]) -> str | list[str]:
        parse_weekdays(value)
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not value or len(value) > 256 or any(c.isspace() for c in value):
            raise ValueError("must be a channel or conversation id, without spaces")
        return value

    @field_validator("slack_team")
    @classmethod
    def _team(cls, value: str) -> str:
        return slack_team(value)

    @model_validator(mode="after")
    def _team_is_slacks(self) -> ScheduledPrompt:
        if self.slack_team and self.platform != "slack":
            raise ValueError("slack_team goes with platform: slack")
        return self

    def subscription(self, source: str) -> Subscription:
        return Subscription(self.platform, self.channel, parse_time(self.time), self.zone,
                            parse_weekdays(self.weekdays), tuple(self.playbooks), source,
                            team=self.slack_team)


class ScheduleFile(BaseModel):
    """`playbooks/schedule.yaml`: the channels that get the daily prompt, kept in git."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: list[ScheduledPrompt] = Field(default_factory=list)


class _TimesAsText(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted 9:30 as the number 570 (base 60); a schedule means a time."""


_TimesAsText.yaml_implicit_resolvers = {
    first: ([("tag:yaml.org,2002:str", _TIME)] if first.isdigit() else []) + list(resolvers)
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SCHEDULE_FIELDS = {(): list(ScheduleFile.model_fields),
                    ("prompts",): list(ScheduledPrompt.model_fields)}


def parse_schedule(source: str, text: str, playbook_ids: Iterable[str]) -> list[Subscription]:
    """Validate `schedule.yaml` against the loaded playbooks; `PlaybookErrors` lists every problem.

    A channel may appear once: it gets one prompt a day, so a second entry
    could only be a mistake. A Slack channel shared by workspaces (Slack Connect) may
    appear once per `slack_team`, as each workspace may subscribe it in chat.
    """
    model, where = parse_located(source, text, ScheduleFile, _SCHEDULE_FIELDS, _TimesAsText)
    known = set(playbook_ids)
    errors: list[PlaybookError] = []
    found: list[Subscription] = []
    seen: dict[str, dict[str, int]] = {}
    """platform:channel -> slack_team ("" for none) -> the line of its first entry."""
    for index, entry in enumerate(model.prompts):
        line = where.get(("prompts", index), (1, 1))[0]
        for position, playbook in enumerate(entry.playbooks):
            if playbook not in known:
                close = difflib.get_close_matches(playbook, sorted(known), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                errors.append(PlaybookError(source, line, 5,
                                            f"prompts[{index}].playbooks[{position}]",
                                            f"no playbook {playbook!r}{hint}"))
        if entry.platform == "slack" and not _SLACK_CHANNEL.match(entry.channel):
            errors.append(PlaybookError(source, line, 5, f"prompts[{index}].channel",
                                        "must be a Slack channel id like C0123ABCD (channel "
                                        "details > About), not its name"))
        place = f"{entry.platform}:{entry.channel}"
        clash = next(((team, at) for team, at in seen.get(place, {}).items()
                      if not team or not entry.slack_team or team == entry.slack_team), None)
        if clash is not None:
            hint = " (in a shared channel, give each entry its own slack_team)" \
                if clash[0] or entry.slack_team else ""
            errors.append(PlaybookError(source, line, 5, f"prompts[{index}].channel",
                                        f"{entry.channel} is already scheduled at line "
                                        f"{clash[1]}{hint}"))
        seen.setdefault(place, {}).setdefault(entry.slack_team, line)
        found.append(entry.subscription(f"{source.rsplit('/', 1)[-1]}:{line}"))
    if errors:
        raise PlaybookErrors(errors)
    return found


def merge(from_git: Sequence[Subscription],
          from_chat: Sequence[Subscription]) -> list[Subscription]:
    """Every channel's effective schedule: one made in chat replaces that channel's git entry.

    A team changing its own time in chat is the more recent decision; the git
    entry applies again once they unsubscribe. A workspace's own subscription replaces
    the git entry of its channel too, unless that entry names another workspace
    (`slack_team`): a shared channel then gets each workspace's prompt.
    """
    chatted: dict[str, set[str]] = {}
    for sub in from_chat:
        chatted.setdefault(sub.place, set()).add(sub.team)

    def replaced(entry: Subscription) -> bool:
        teams = chatted.get(entry.place, set())
        return bool(teams) and (not entry.team or bool(teams & {"", entry.team}))

    chosen: dict[str, Subscription] = {s.key: s for s in from_git if not replaced(s)}
    chosen.update({s.key: s for s in from_chat})
    return sorted(chosen.values(), key=lambda s: s.key)
