"""Whatever arrives from a chat platform, the matcher answers and never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matcher import Matcher
from bot.playbook_set import PlaybookSet

chat_markup = st.sampled_from([
    "<@U123>", "<#C1|sales>", "<https://x.io|label>", "<!here>", ":tada:", "<at>Bot</at>",
    "<b>", "</p>", "&amp;", "\u200b", "\x00", "\ufeff", "🙂", "é", "\U0010ffff", "\ud800",
    "customer", "angry", "too expensive", "renewal", "booth", " ", "\n",
])
messages = st.one_of(
    st.text(),
    st.lists(st.one_of(chat_markup, st.text(max_size=5)), max_size=30).map("".join),
)
slow_ok = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


@slow_ok
@given(text=messages)
def test_never_raises_and_is_deterministic(library: PlaybookSet, text: str) -> None:
    matcher: Matcher = library.matcher
    for mode in ("guide", "nudge"):
        first = matcher.match(text, mode)  # type: ignore[arg-type]
        assert first == matcher.match(text, mode)  # type: ignore[arg-type]
        assert all(0 <= c.score <= 1 for c in first.candidates)
        if first.best is not None:
            assert first.best.playbook in library.by_id


@slow_ok
@given(text=messages)
def test_nudge_never_fires_where_guide_would_not(library: PlaybookSet, text: str) -> None:
    nudge = library.matcher.match(text, "nudge")
    if nudge.best is not None:
        guide = library.matcher.match(text, "guide")
        assert guide.best is not None and guide.best.playbook == nudge.best.playbook
