"""The page builder escapes whatever is not markup yet; the chat previews draw only what the
platforms would draw, from the adapters' own JSON."""

from __future__ import annotations

from bot.messages import Button, Reply, Section
from touchpoint.web.charts import line_chart, nice_ceiling
from touchpoint.web.chat import mrkdwn, slack_message, teams_message
from touchpoint.web.html import Html, el, esc


def test_text_and_attributes_are_escaped_and_markup_is_kept() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    built = el("a", hostile, el("b", "kept"), href=f'/x?q="{hostile}', data_note=hostile,
               hidden=True, title=None)
    assert "<script>" not in built and "&lt;script&gt;" in built
    assert 'href="/x?q=&quot;&lt;script&gt;' in built and "<b>kept</b>" in built
    assert " hidden" in built and "title" not in built and 'data-note="' in built
    assert esc(Html("<i>ok</i>")) == "<i>ok</i>"
    assert el("input", name="n", value="<v>") == '<input name="n" value="&lt;v&gt;">'


def test_slack_mrkdwn_is_drawn_from_escaped_text() -> None:
    assert mrkdwn("*Why*\nsay _this_ and ~that~ `now`") == \
        "<b>Why</b><br>say <i>this</i> and <s>that</s> <code>now</code>"
    assert mrkdwn("&lt;script&gt; &amp; customer_id_field") == \
        "&lt;script&gt; &amp; customer_id_field"
    assert mrkdwn("<b>raw</b>") == "&lt;b&gt;raw&lt;/b&gt;"


def test_previews_use_the_adapters_json() -> None:
    reply = Reply(text="Gift: <b>lost</b>", sections=(Section(title="Gift", text="<b>lost</b>",
                                                               bullets=("call *them*",)),),
                  buttons=(Button("Helpful", "helpful", "gift", primary=True),), ephemeral=True)
    slack = slack_message(reply)
    assert "<b>Gift</b>" in slack and "&lt;b&gt;lost&lt;/b&gt;" in slack
    assert "call <b>them</b>" in slack and "Only visible to you" in slack
    assert 'class="button primary">Helpful<' in slack
    teams = teams_message(reply)
    assert "<strong>Gift</strong>" in teams and "&lt;b&gt;lost&lt;/b&gt;" in teams
    assert "call *them*" in teams  # Teams shows playbook text literally
    assert teams_message(Reply(text="Muted <now>")).count("Muted &lt;now&gt;") == 1
    owner = teams_message(Reply(text="The call ended.", sections=(Section(text="Recap"),),
                                user="<pat@example.com>"))
    assert '<span class="mention">pat@example.com</span>' in owner


def test_charts_scale_to_a_round_top_and_carry_their_numbers() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 2, 3, 7, 11, 60, 101)] == \
        [1, 1, 2, 5, 10, 20, 100, 200]
    svg = line_chart("t <x>", ["2026-W01", "2026-W02"], {"guide": [0, 3]})
    assert 'data-series="guide" data-values="0,3"' in svg and "<title>t &lt;x&gt;" in svg
    assert 'data-values="0,0"' in svg  # series without counts are drawn flat
