"""Following a git repository of playbooks: a local bare repository plays the git host."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers import said
from live_support import PLAYBOOKS, PlaybookRepo, break_weight, eventually, retitle

from adapters.redis_store import RedisStore
from bot.handler import Handler
from bot.memory_store import MemoryStore
from bot.messages import Reply
from bot.store import Store
from touchpoint import live, signing
from touchpoint.git import export_folder, redact
from touchpoint.gitsync import GitFollower
from touchpoint.loader import load_folder
from touchpoint.metrics import Metrics
from touchpoint.server import build_app, make_handler
from touchpoint.settings import Settings

SECRET = "a-webhook-secret"
ADMIN = "U0ADMIN01"


@pytest.fixture
def repo(tmp_path: Path) -> PlaybookRepo:
    return PlaybookRepo(tmp_path / "host")


def settings_for(repo: PlaybookRepo, cache: Path, **overrides: object) -> Settings:
    base = Settings(playbooks=cache / "no-local-playbooks", playbooks_git=str(repo.origin),
                    playbooks_branch=repo.branch, playbooks_git_path="playbooks",
                    playbooks_git_cache=cache, playbooks_git_interval=0,
                    webhook_secret=SECRET, admins=(ADMIN,))
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass
class Instance:
    client: TestClient
    handler: Handler
    live: live.LivePlaybooks
    reports: list[Reply]

    @property
    def git(self) -> GitFollower:
        assert self.live.git is not None
        return self.live.git

    async def ask(self, text: str, user: str = ADMIN) -> str:
        [reply] = await self.handler.handle(said(text, user=user))
        return "\n".join([reply.text, *(b for s in reply.sections for b in s.bullets)])

    async def hook(self, body: bytes, signature: str | None, **headers: str) -> int:
        if signature is not None:
            headers[signing.HEADER] = signature
        response = await self.client.post(live.HOOK_PATH, data=body, headers=headers)
        return response.status


@asynccontextmanager
async def instance(settings: Settings, store: Store | None = None,
                   converge_every: float = 5.0) -> AsyncIterator[Instance]:
    """An app built as `serve` builds it, started (the first fetch happens in start-up)."""
    store = store or MemoryStore()
    handler = make_handler(settings, store)
    app = build_app(settings, handler)
    reports: list[Reply] = []

    async def report(reply: Reply) -> bool:
        reports.append(reply)
        return True

    playbooks = live.attach(app, handler, settings, store, Metrics(), report,
                            handle_sighup=False)
    assert playbooks.git is not None
    playbooks.git.converge_every = converge_every
    async with TestClient(TestServer(app)) as client:
        yield Instance(client, handler, playbooks, reports)


async def test_start_serves_the_branch_head_and_about_shows_it(repo: PlaybookRepo,
                                                                tmp_path: Path) -> None:
    async with instance(settings_for(repo, tmp_path / "cache")) as tp:
        assert tp.git.commit == repo.head()
        assert len(tp.handler.playbooks.playbooks) == 3
        assert tp.handler.playbooks.version == repo.head()[:12]
        about = await tp.ask("about")
        assert repo.head() in about and '"First playbooks"' in about
        assert "3 playbooks live" in about


async def test_about_shows_anyone_what_is_live_and_only_admins_where_from(
        repo: PlaybookRepo, tmp_path: Path) -> None:
    async with instance(settings_for(repo, tmp_path / "cache")) as tp:
        live = tp.git.commit
        retitle(repo.folder / "renewal.yaml", "")
        repo.push("Break renewal")
        await tp.ask("reload")
        anyone = await tp.ask("about", user="U0ANYONE1")
        admin = await tp.ask("about")
    assert anyone == f"Touchpoint: 3 playbooks live, version {live[:12]}."
    for detail in (str(repo.origin), str(tmp_path / "cache"), "rejected",
                   "playbooks/renewal.yaml:3:1"):
        assert detail in admin, detail


async def test_the_poller_picks_up_a_push(repo: PlaybookRepo, tmp_path: Path) -> None:
    settings = settings_for(repo, tmp_path / "cache", playbooks_git_interval=0.1)
    async with instance(settings) as tp:
        retitle(repo.folder / "renewal.yaml", "Renewal from git")
        pushed = repo.push("Retitle renewal")
        await eventually(lambda: tp.git.commit == pushed, "the scheduled fetch")
        assert tp.handler.playbooks.by_id["renewal"].title == "Renewal from git"
        assert pushed in await tp.ask("about")
        assert len(list((tmp_path / "cache" / "trees").iterdir())) <= 2


async def test_the_git_host_has_its_own_secret_and_the_old_one_still_works_with_a_warning(
        repo: PlaybookRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"ref": "refs/heads/experiment"}).encode()
    own = "git-host-secret-0123456789"
    settings = settings_for(repo, tmp_path / "cache", git_webhook_secret=own)
    async with instance(settings) as tp:
        assert await tp.hook(body, signing.sign(own, body)) == 202
        assert await tp.hook(body, signing.sign(SECRET, body)) == 401
    assert "TOUCHPOINT_GIT_WEBHOOK_SECRET" not in caplog.text
    async with instance(settings_for(repo, tmp_path / "cache2")) as tp:
        assert await tp.hook(body, signing.sign(SECRET, body)) == 202
    [warning] = [r for r in caplog.records if "TOUCHPOINT_GIT_WEBHOOK_SECRET" in r.getMessage()]
    assert warning.levelname == "WARNING"


async def test_a_signed_webhook_fetches_and_a_bad_signature_does_nothing(
        repo: PlaybookRepo, tmp_path: Path) -> None:
    async with instance(settings_for(repo, tmp_path / "cache")) as tp:
        first = tp.git.commit
        fetched = tp.git.fetched_at
        retitle(repo.folder / "renewal.yaml", "Renewal by webhook")
        pushed = repo.push("Retitle renewal")
        body = json.dumps({"ref": f"refs/heads/{repo.branch}", "after": pushed}).encode()
        assert await tp.hook(body, None) == 401
        assert await tp.hook(body, signing.sign("wrong secret", body)) == 401
        assert await tp.hook(body, "sha256=" + "0" * 64) == 401
        assert await tp.hook(body + b" ", signing.sign(SECRET, body)) == 401
        assert tp.git.fetched_at == fetched and tp.git.commit == first
        other = json.dumps({"ref": "refs/heads/experiment"}).encode()
        assert await tp.hook(other, signing.sign(SECRET, other)) == 202
        assert await tp.hook(b"{}", signing.sign(SECRET, b"{}"), **{"X-GitHub-Event": "ping"}
                             ) == 200
        assert tp.git.fetched_at == fetched
        assert await tp.hook(body, signing.sign(SECRET, body)) == 202
        await eventually(lambda: tp.git.commit == pushed, "the webhook's fetch")
        assert tp.handler.playbooks.by_id["renewal"].title == "Renewal by webhook"
        assert pushed in await tp.ask("about")


async def test_an_invalid_commit_keeps_the_last_good_one(repo: PlaybookRepo,
                                                         tmp_path: Path) -> None:
    async with instance(settings_for(repo, tmp_path / "cache")) as tp:
        good = tp.git.commit
        line = break_weight(repo.folder / "renewal.yaml")
        bad = repo.push("Break renewal")
        assert "rejected" in await tp.ask("reload")
        assert tp.git.commit == good and tp.handler.playbooks.version == good[:12]
        answer = await tp.ask("reload")
        assert f"playbooks/renewal.yaml:{line}:" in answer, answer
        assert tp.reports == [], "the admin who asked got the errors; no channel post"
        retitle(repo.folder / "customer-gift.yaml", "Gifts")
        (repo.folder / "renewal.yaml").write_text(
            (repo.folder / "renewal.yaml").read_text().replace("weight: 7 #", "weight:"))
        fixed = repo.push("Fix renewal")
        assert "Reloaded" in await tp.ask("reload")
        assert tp.git.commit == fixed != bad
        assert tp.handler.playbooks.by_id["customer-gift"].title == "Gifts"


async def test_a_bad_commit_found_by_the_poller_is_reported_to_the_admin_channel(
        repo: PlaybookRepo, tmp_path: Path) -> None:
    settings = settings_for(repo, tmp_path / "cache", playbooks_git_interval=0.1)
    async with instance(settings) as tp:
        line = break_weight(repo.folder / "renewal.yaml")
        repo.push("Break renewal")
        await eventually(lambda: tp.reports, "the rejection report")
        [report] = tp.reports
        assert any(b.startswith(f"playbooks/renewal.yaml:{line}:")
                   for s in report.sections for b in s.bullets)


async def test_two_instances_converge_on_one_commit(repo: PlaybookRepo, tmp_path: Path,
                                                     redis_url: str, redis_prefix: str) -> None:
    """The webhook reaches one instance; the other follows the commit it publishes."""
    stores = [RedisStore.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        async with instance(settings_for(repo, tmp_path / "a"), stores[0], 0.05) as a, \
                instance(settings_for(repo, tmp_path / "b"), stores[1], 0.05) as b:
            assert a.git.commit == b.git.commit == repo.head()
            retitle(repo.folder / "renewal.yaml", "Renewal everywhere")
            pushed = repo.push("Retitle renewal")
            body = json.dumps({"ref": f"refs/heads/{repo.branch}"}).encode()
            assert await a.hook(body, signing.sign(SECRET, body)) == 202
            await eventually(lambda: a.git.commit == b.git.commit == pushed,
                             "both instances on the pushed commit")
            assert b.handler.playbooks.by_id["renewal"].title == "Renewal everywhere"
    finally:
        for store in stores:
            await store.close()


async def test_an_unreachable_repository_keeps_serving_the_local_folder(
        tmp_path: Path, repo: PlaybookRepo) -> None:
    settings = settings_for(repo, tmp_path / "cache", playbooks=repo.folder,
                            playbooks_git=str(tmp_path / "nowhere.git"))
    async with instance(settings) as tp:
        assert tp.git.commit == "" and tp.git.problem
        assert len(tp.handler.playbooks.playbooks) == 3
        about = await tp.ask("about")
        assert "Problem: fetching" in about


async def test_export_folder_and_redact(repo: PlaybookRepo, tmp_path: Path) -> None:
    first = repo.head()
    (repo.folder / "renewal.yaml").unlink()
    repo.push("Drop renewal")
    old = await export_folder(repo.folder, first, tmp_path / "old")
    assert (old / "renewal.yaml").is_file() and old.name == "playbooks"
    assert redact("https://user:tok3n@git.example.com/pb.git") == "https://git.example.com/pb.git"


async def test_a_regex_bomb_at_the_branch_head_is_a_rejected_commit_not_a_dead_server(
        repo: PlaybookRepo, tmp_path: Path) -> None:
    """`x{4294967294}` ran out of memory compiling: start-up died, and every sync retried it."""
    path = repo.folder / "price-objection.yaml"
    path.write_text(path.read_text().replace("regex: '", "regex: 'x{4294967294}|", 1))
    bomb = repo.push("A regex bomb")
    settings = settings_for(repo, tmp_path / "cache", playbooks=PLAYBOOKS)
    async with instance(settings) as tp:
        assert tp.git.commit == ""
        assert len(tp.handler.playbooks.playbooks) == len(load_folder(PLAYBOOKS).playbooks)
        [report] = tp.reports
        assert any(b.startswith("playbooks/price-objection.yaml:6:") and "too costly" in b
                   for s in report.sections for b in s.bullets), report
        outcome = await tp.git.sync("the scheduled fetch")
        assert not outcome.ok and len(tp.reports) == 1, "remembered as rejected, not retried"
        assert bomb[:12] not in await tp.ask("about")


@pytest.mark.parametrize("link, target", [("playbooks/passwd.yaml", "/etc/passwd"),
                                          ("playbooks/etc", "/etc")])
async def test_a_commit_with_a_symbolic_link_is_refused_and_no_server_file_is_read(
        repo: PlaybookRepo, tmp_path: Path, link: str, target: str) -> None:
    """`passwd.yaml -> /etc/passwd` was followed: its lines came back as errors, in the admin
    channel, on the manager page and in `/touchpoint about`."""
    async with instance(settings_for(repo, tmp_path / "cache")) as tp:
        good = tp.git.commit
        (repo.work / link).symlink_to(target)
        linked = repo.push("Link a server file")
        outcome = await tp.git.sync("the scheduled fetch")
        assert not outcome.ok and await tp.git.sync("again") is outcome, "remembered"
        [report] = tp.reports
        answer = await tp.ask("reload")
        assert "rejected" in answer and "root:" not in answer, answer
        assert f"commit {linked[:12]}: {link}: symbolic links are not followed" in answer
        assert [outcome.errors[0]] == [b for s in report.sections for b in s.bullets]
        assert tp.git.commit == good
        assert not (tmp_path / "cache" / "trees" / linked).exists()


async def test_a_commit_too_big_to_check_out_is_refused(repo: PlaybookRepo,
                                                        tmp_path: Path) -> None:
    async with instance(settings_for(repo, tmp_path / "cache", playbooks_git_max_mb=1)) as tp:
        good = tp.git.commit
        (repo.work / "assets").mkdir()
        (repo.work / "assets" / "video.bin").write_bytes(bytes(1_500_000))
        big = repo.push("Add a video")
        answer = await tp.ask("reload")
        assert f"commit {big[:12]}: its files take " in answer, answer  # the video and the set
        assert "MB, more than the 1 MB TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB allows" in answer
        assert tp.git.commit == good
        (repo.work / "assets" / "video.bin").unlink()
        smaller = repo.push("Drop the video")
        assert "Reloaded" in await tp.ask("reload") and tp.git.commit == smaller
