"""Weekly analytics and the admin commands, in the core: no server, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import analytics
from bot.admin import Admins, ReloadOutcome, failure_reply
from bot.handler import Handler, HandlerSettings
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import Kind, Message

MONDAY = datetime(2024, 1, 29, 9, tzinfo=UTC).timestamp()  # 2024-W05
ADMIN = "U0ADMIN01"


def msg(text: str, kind: Kind = "command", user: str = "U1", value: str = "",
        platform: str = "slack") -> Message:
    return Message(text=text, user=user, channel="C1", platform=platform,  # type: ignore[arg-type]
                   kind=kind, value=value)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
def handler(library: PlaybookSet, clock: Clock) -> Handler:
    settings = HandlerSettings(admins=Admins.parse(f"{ADMIN}, teams:aad-object-1"))
    return Handler(library, MemoryStore(), settings, clock=clock)


def test_iso_weeks() -> None:
    assert analytics.iso_week(MONDAY) == "2024-W05"
    assert analytics.iso_week(datetime(2021, 1, 3, tzinfo=UTC).timestamp()) == "2020-W53"
    assert analytics.recent_weeks(MONDAY, 3) == ["2024-W05", "2024-W04", "2024-W03"]
    assert analytics.is_week("2024-W05") and not analytics.is_week("2024-W54")


@pytest.mark.parametrize("text, shown", [
    ("ask @jane.doe about it", "ask @someone about it"),
    ("mail bob.smith+x@example.co.uk today", "mail <email> today"),
    ("user U0123ABCDE said so", "user <id> said so"),
    ("teams 29:1AbC-dEf and 0f8fad5b-d9cb-469f-a165-70867728950e", "teams <id> and <id>"),
    ("  several\n lines  ", "several lines"),
])
def test_questions_are_scrubbed(text: str, shown: str) -> None:
    assert analytics.scrub_question(text) == shown


@pytest.mark.parametrize("text, shown", [
    ("customer called from +1 (555) 123-4567 about it", "customer called from <number> about it"),
    ("her number is 0612345678, call back", "her number is <number>, call back"),
    ("ticket INC0012345 still open", "ticket <id> still open"),
    ("id 123456789 in the CRM", "id <number> in the CRM"),
    ("how do I tell John Smith that we are late", "how do I tell <name> that we are late"),
    ("a complaint from Acme Widgets Ltd about billing", "a complaint from <name> about billing"),
    ("mail from jane about the renewal", "mail from <name> about the renewal"),
])
def test_phone_numbers_ids_and_names_are_scrubbed(text: str, shown: str) -> None:
    """They stayed in the stored questions, while the manager page said names were removed."""
    assert analytics.scrub_question(text) == shown


@pytest.mark.parametrize("text", [
    "tell me how to answer a complaint from the customer",
    "we offered 30% off for 3 seats in 2 teams",
    "what do I say to a prospect from scratch",
])
def test_ordinary_words_and_small_numbers_stay(text: str) -> None:
    assert analytics.scrub_question(text) == text


def test_a_question_is_kept_at_most_the_days_set() -> None:
    sunday_night = MONDAY + 6 * 86400 + 14 * 3600  # 23:00
    assert analytics.question_ttl(MONDAY, 90) == 90 * 86400 - 9 * 3600
    assert analytics.question_ttl(sunday_night, 90) == 90 * 86400 - (6 * 86400 + 23 * 3600)
    assert analytics.question_ttl(sunday_night, 7) == 3600


async def test_unanswered_questions_are_forgotten_after_the_days_set(
        library: PlaybookSet, clock: Clock) -> None:
    """They were kept for 60 weeks, the counters' time; now `TOUCHPOINT_QUESTIONS_DAYS`."""
    store_clock = Clock(0.0)
    store = MemoryStore(clock=store_clock)
    handler = Handler(library, store, HandlerSettings(questions_days=30), clock=clock)
    await handler.handle(msg("xyzzy plugh frobnicate"))
    kept_for = 30 * 86400 - 9 * 3600  # from Monday 09:00 to 30 days after Monday 00:00
    store_clock.now = kept_for - 1
    assert await store.questions("2024-W05", 5) == ["xyzzy plugh frobnicate"]
    store_clock.now = kept_for
    assert await store.questions("2024-W05", 5) == []
    assert await store.week_counters("2024-W05") == {"unmatched": 1}, "counts stay"


def test_long_questions_are_cut() -> None:
    assert len(analytics.scrub_question("word " * 200)) == analytics.MAX_QUESTION


@pytest.mark.parametrize("text, shown", [
    ("x" * 40_000, "x" * (analytics.MAX_QUESTION - 1) + "…"),
    ("x@" * 20_000, ("x" + "@someone" * 40)[: analytics.MAX_QUESTION - 1] + "…"),
    ("a." * 20_000 + " bob@example.com", ("a." * 200)[: analytics.MAX_QUESTION - 1] + "…"),
    ("(bob@example.com)", "(<email>)"),
    ("mail:bob@example.com", "mail:<email>"),
])
def test_one_long_word_is_scrubbed_and_cut_like_any_other(text: str, shown: str) -> None:
    """Slack allows 40,000 characters; an address pattern tried from every position of one
    long word once took seconds, with everything else waiting."""
    assert analytics.scrub_question(text) == shown


def test_week_stats_table() -> None:
    week = analytics.week_stats("2024-W05", {
        "guide:a": 3, "helpful:a": 3, "not_helpful:a": 1, "nudge:b": 2, "unmatched": 4,
        "added": 1}, ["q1"], ["a", "b", "c"])
    older = analytics.week_stats("2024-W04", {"guide:a": 1, "share:c": 2}, ["q0"])
    total = analytics.combine([week, older])
    assert total.week == "2024-W04..2024-W05"
    assert total.playbooks["a"] == {"guide": 4, "nudge": 0, "helpful": 3, "not_helpful": 1,
                                    "share": 0}
    assert total.unmatched == 4 and total.questions == ["q1", "q0"]
    rows = analytics.table_rows(total)
    assert rows[0] == ("a", "4", "0", "3", "1", "0", "75")
    assert rows[-1] == ("total", "4", "2", "3", "1", "2", "75")
    lines = analytics.format_table(rows)
    assert lines[0].split()[:2] == ["playbook", "guide"]
    assert len({len(line) for line in lines[:1]}) == 1


async def test_usage_is_counted_per_week(handler: Handler, library: PlaybookSet,
                                         clock: Clock) -> None:
    example = library.by_id["renewal"].examples.match[0]
    await handler.handle(msg(example))
    clock.now += 7 * 86400
    await handler.handle(msg(example))
    await handler.handle(msg("helpful", kind="action", value="renewal"))
    await handler.handle(msg("share", kind="action", value="renewal"))
    await handler.handle(msg("xyzzy plugh @jane.doe frobnicate"))
    store = handler.store
    assert await store.week_counters("2024-W05") == {"guide:renewal": 1}
    assert await store.week_counters("2024-W06") == {
        "guide:renewal": 1, "helpful:renewal": 1, "share:renewal": 1, "unmatched": 1}
    assert await store.questions("2024-W06", 5) == ["xyzzy plugh @someone frobnicate"]
    assert (await store.counters())["guide:renewal"] == 2, "all-time counters stay"


async def test_stats_are_for_admins(handler: Handler, library: PlaybookSet) -> None:
    await handler.handle(msg(library.by_id["renewal"].examples.match[0]))
    (refused,) = await handler.handle(msg("stats"))
    assert "Only Touchpoint admins" in refused.text and refused.ephemeral
    (reply,) = await handler.handle(msg("stats", user=ADMIN))
    bullets = [b for s in reply.sections for b in s.bullets]
    assert "renewal: guide 1, nudge 0, helpful 0, not helpful 0, share 0" in bullets
    assert reply.ephemeral and "2024-W02..2024-W05" in reply.text
    (teams,) = await handler.handle(msg("stats", user="aad-object-1", platform="teams"))
    assert "Playbook usage" in teams.text
    (elsewhere,) = await handler.handle(msg("stats", user="aad-object-1"))
    assert "Only Touchpoint admins" in elsewhere.text


async def test_reload_and_about_without_a_server(handler: Handler) -> None:
    (refused,) = await handler.handle(msg("reload"))
    assert "Only Touchpoint admins can reload" in refused.text
    (reply,) = await handler.handle(msg("reload", user=ADMIN))
    assert "not available here" in reply.text
    (about,) = await handler.handle(msg("about"))
    assert about.text.startswith("Touchpoint: 14 playbooks live")


def test_is_admin_and_admin_parsing(handler: Handler) -> None:
    assert handler.is_admin(msg("x", user=ADMIN))
    assert handler.is_admin(msg("x", user=ADMIN, platform="teams")), "bare ids: any platform"
    assert not handler.is_admin(msg("x", user="U2"))
    assert not Admins.parse("").allows("slack", "")
    assert not Admins.parse(" , ")


def test_a_long_error_list_is_shortened() -> None:
    outcome = ReloadOutcome(False, False, "abc", 14, tuple(f"x.yaml:{n}:1: bad" for n in
                                                           range(30)), "SIGHUP")
    reply = failure_reply(outcome)
    [section] = reply.sections
    assert len(section.bullets) == 21 and section.bullets[-1] == "... and 10 more"
    assert "after SIGHUP: 30 error(s)" in reply.text and "version abc" in reply.text
