"""The "Not helpful" form on Slack end to end: signed `payload=` posts in, `views.open` to the
fake Slack API, the answer kept in a real Redis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fakes.slack_api import FakeSlackAPI
from slack_harness import (
    FORM,
    action_body,
    action_payload,
    fixture_json,
    running,
    signed_headers,
    texts_that_match,
    view_submission,
)
from web_support import serving

from adapters.redis_store import RedisStore
from adapters.slack import feedback as slack_feedback
from bot import analytics, feedback
from bot.messages import Form
from bot.playbook_set import PlaybookSet
from touchpoint.settings import Settings


@pytest.fixture
async def store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(redis_url, prefix=redis_prefix)
    yield store
    await store.close()


def buttons_of(call_body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each button's label: its action id and value."""
    return {b["text"]["text"]: (b["action_id"], b["value"])
            for block in call_body["blocks"] if block["type"] == "actions"
            for b in block["elements"]}


def answer(chosen: str, why: str = "") -> dict[str, Any]:
    """The state Slack sends for our modal once a playbook is chosen and why typed."""
    values: dict[str, Any] = {
        slack_feedback.CHOICE_BLOCK: {slack_feedback.CHOICE_ACTION: {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": chosen, "emoji": True},
                                "value": chosen}}},
        slack_feedback.WHY_BLOCK: {slack_feedback.WHY_ACTION: {
            "type": "plain_text_input", "value": why or None}},
    }
    return values


async def test_not_helpful_opens_a_modal_and_its_answer_is_kept_in_redis(
        slack_api: FakeSlackAPI, library: PlaybookSet, store: RedisStore) -> None:
    text, shown = texts_that_match(library, "guide")[0]
    other = next(p.id for p in library.playbooks if p.id != shown)
    asked = f"{text} (mail me at ann@example.com)"
    async with running(slack_api, library, store=store) as tp:
        await tp.command(asked)
        [guide] = await slack_api.wait_for("chat.postEphemeral")
        action_id, value = buttons_of(guide.body)["Not helpful"]
        press = action_payload("not_helpful", value, index=int(action_id.split(":")[2]),
                               ephemeral=True)
        pressed = await tp.action(press)
        [opened] = await slack_api.wait_for("views.open")
        assert (pressed.status, pressed.text) == (200, "")
        assert opened.ok and opened.body["trigger_id"] == press["trigger_id"]
        view = opened.answer["view"]
        assert view["callback_id"] == slack_feedback.CALLBACK_ID
        choices = [o["value"] for o in view["blocks"][0]["element"]["options"]]
        assert other in choices and choices[-1] == feedback.NONE and shown not in choices
        assert view["blocks"][1]["optional"] is True
        assert "ann@example.com" not in json.dumps(view)

        submitted = await tp.action(view_submission(
            view, answer(other, "call me on +1 555 123 4567, it is about the renewal")))
        assert (submitted.status, submitted.text) == (200, "")  # closes the modal
        thanks = (await slack_api.wait_for("chat.postEphemeral", 2))[1]
        await tp.settle()
    assert thanks.body["channel"] == "C0FAKECHAN" and thanks.body["user"] == "U0FAKEUSER"
    assert feedback.THANKS in thanks.body["text"]
    week = analytics.iso_week(time.time())
    [kept] = await feedback.read_corrections(store, [week])
    assert (kept.shown, kept.chosen) == (shown, other)
    assert kept.question == analytics.scrub_question(asked) and "<email>" in kept.question
    assert "<number>" in kept.why and "555" not in kept.why
    ttl = await store._redis.run(lambda c: c.ttl(store._redis.key("corrections", week)))
    assert 0 < ttl <= 90 * 86400
    assert await store.counters("not_helpful") == {f"not_helpful:{shown}": 1}


async def test_none_is_kept_and_a_second_submission_of_the_same_view_is_not(
        slack_api: FakeSlackAPI, library: PlaybookSet, store: RedisStore) -> None:
    form = Form("Not helpful", "Which?", (("renewal", "Renewal"), (feedback.NONE, "None")),
                json.dumps({"shown": "renewal", "question": "my kid's school fair"}), "Why?")
    view = {**slack_feedback.modal(form, "C0FAKECHAN"), "id": "V0FAKEVIEWNONE"}
    async with running(slack_api, library, store=store) as tp:
        for _ in range(2):
            assert (await tp.action(view_submission(view, answer(feedback.NONE)))).status == 200
        await slack_api.wait_for("chat.postEphemeral")
        await tp.settle()
    [kept] = await feedback.read_corrections(store, [analytics.iso_week(time.time())])
    assert (kept.chosen, kept.question, kept.why) == (feedback.NONE, "my kid's school fair", "")
    assert len(slack_api.calls("chat.postEphemeral")) == 1


async def test_an_expired_trigger_still_thanks_and_keeps_nothing(
        slack_api: FakeSlackAPI, library: PlaybookSet, store: RedisStore) -> None:
    playbook = library.playbooks[0].id
    press = action_payload("not_helpful", feedback.button_value(playbook, "a question"),
                           index=2, ephemeral=True)
    slack_api.expire_trigger(press["trigger_id"])
    async with running(slack_api, library, store=store) as tp:
        assert (await tp.action(press)).status == 200
        [refused] = await slack_api.wait_for("views.open")
        [thanks] = await slack_api.wait_for("chat.postEphemeral")
    assert refused.error == "expired_trigger_id"
    assert feedback.THANKS in thanks.body["text"]
    assert await feedback.read_corrections(store, [analytics.iso_week(time.time())]) == []
    assert await store.counters("not_helpful") == {f"not_helpful:{playbook}": 1}


async def test_a_forged_or_foreign_submission_changes_nothing(
        slack_api: FakeSlackAPI, library: PlaybookSet, store: RedisStore) -> None:
    fixture = fixture_json("view_submission.json")
    async with running(slack_api, library, store=store) as tp:
        body = action_body(fixture)
        forged = await tp.post(body, signed_headers(body, FORM, secret="not-the-secret"))
        foreign = dict(fixture, view={**fixture["view"], "callback_id": "someone-else"})
        other = await tp.action(foreign)
        damaged = dict(fixture, view={**fixture["view"], "private_metadata": "{not json"})
        broken = await tp.action(damaged)
        await tp.settle()
    assert forged.status == 401
    assert other.status == 404  # bolt: no listener for another app's view
    assert broken.status == 200
    assert slack_api.calls("chat.postEphemeral") == []
    assert await feedback.read_corrections(store, [analytics.iso_week(time.time())]) == []


async def test_the_captured_submission_is_kept(slack_api: FakeSlackAPI, library: PlaybookSet,
                                               store: RedisStore) -> None:
    async with running(slack_api, library, store=store) as tp:
        assert (await tp.action(fixture_json("view_submission.json"))).status == 200
        await slack_api.wait_for("chat.postEphemeral")
        await tp.settle()
    [kept] = await feedback.read_corrections(store, [analytics.iso_week(time.time())])
    assert kept == feedback.Correction("price-objection", "renewal",
                                       "they want a quote for year two",
                                       "it is about the second year of the contract")


def test_the_modal_keeps_within_slacks_limits() -> None:
    long = "x" * 200
    form = Form(long, long, tuple((f"id{i}", long) for i in range(150)), "{}", long, long)
    view = slack_feedback.modal(form, "C0FAKECHAN")
    assert len(view["title"]["text"]) <= 24 and len(view["submit"]["text"]) <= 24
    options = view["blocks"][0]["element"]["options"]
    assert len(options) == 100 and all(len(o["text"]["text"]) <= 75 for o in options)


ROOT = Path(__file__).resolve().parents[2]


def touchpoint_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "TOUCHPOINT_", "REDIS_", "Microsoft"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "touchpoint.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=environment, timeout=300)


async def test_from_the_modal_to_analytics_to_a_patch_a_manager_can_apply(
        slack_api: FakeSlackAPI, library: PlaybookSet, store: RedisStore, redis_url: str,
        redis_prefix: str, tmp_path: Path) -> None:
    """A person corrects an answer in Slack and asks something nothing answers; the manager
    sees both on the Analytics page and gets them as a patch that applies to the repository."""
    example, shown = texts_that_match(library, "guide")[0]
    text = f"{example}, what now"
    chosen = next(p for p in library.playbooks if p.id != shown)
    question = "what should I do about friday?"
    unanswered = library.matcher.match(question, "guide")
    assert unanswered.best is None and unanswered.candidates  # a closest one to place it by
    async with running(slack_api, library, store=store) as tp:
        await tp.command(text)
        [guide] = await slack_api.wait_for("chat.postEphemeral")
        await tp.command(question)
        await slack_api.wait_for("chat.postEphemeral", 2)
        assert buttons_of(guide.body), "the changed example no longer gets an answer"
        _, value = buttons_of(guide.body)["Not helpful"]
        await tp.action(action_payload("not_helpful", value, index=3, ephemeral=True))
        [opened] = await slack_api.wait_for("views.open")
        await tp.action(view_submission(opened.answer["view"],
                                        answer(chosen.id, "they meant the contract")))
        await slack_api.wait_for("chat.postEphemeral", 3)
        await tp.settle()
        async with serving(tp.handler, Settings()) as url, \
                aiohttp.ClientSession() as http, http.get(f"{url}/manage/analytics") as page:
            html = await page.text()
    assert page.status == 200
    assert "What would have fitted" in html and 'class="corrections"' in html
    assert f'data-shown="{shown}"' in html, html[html.find("corrections"):]
    assert f'data-chosen="{chosen.id}"' in html
    assert "they meant the contract" in html and question in html

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "playbooks", repo / "playbooks")
    for git in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                 "commit", "-qm", "playbooks"]):
        subprocess.run(["git", *git], cwd=repo, check=True, capture_output=True)
    done = touchpoint_cli("--playbooks", "playbooks", "suggest", cwd=repo, env={
        "REDIS_URL": redis_url, "TOUCHPOINT_REDIS_PREFIX": redis_prefix})
    assert done.returncode == 0 and done.stdout, done.stderr
    patch = done.stdout
    chosen_file = next(p for p in (repo / "playbooks").glob("*.yaml")
                       if f"id: {chosen.id}\n" in p.read_text())
    assert f"+++ b/playbooks/{chosen_file.name}" in patch
    assert (f'+    - {json.dumps(text)}  # was shown {shown}; why: they meant the contract'
            in patch.splitlines())
    assert "Effect of the patch (touchpoint diff):" in done.stderr
    assert "messages match differently" in done.stderr
    assert not any(line.startswith("-") and not line.startswith("---")
                   for line in patch.splitlines())  # only additions
    (repo / "fix.patch").write_text(patch)
    applied = subprocess.run(["git", "apply", "fix.patch"], cwd=repo, capture_output=True,
                             text=True)
    assert applied.returncode == 0, applied.stderr
    checked = touchpoint_cli("--playbooks", "playbooks", "check", cwd=repo, env={})
    assert checked.returncode == 0, checked.stderr + checked.stdout
    near = library.matcher.match(question, "guide").candidates[0].playbook
    assert f"+    - {json.dumps(question)}  # unanswered; closest was {near}" in patch
    changed = subprocess.run(["git", "diff", "--name-only"], cwd=repo, capture_output=True,
                             text=True).stdout.split()
    assert f"playbooks/{chosen_file.name}" in changed
    assert all(name.startswith("playbooks/") for name in changed)
