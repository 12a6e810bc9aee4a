"""`touchpoint suggest`: which message goes where, and the patch of the files."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from adapters.redis_store import RedisStore
from bot import feedback
from bot.playbook_set import PlaybookSet
from touchpoint.example_patch import Addition
from touchpoint.suggest import patched_files, plan, unified_diff

ROOT = Path(__file__).resolve().parents[2]


def test_a_persons_choice_wins_and_nothing_is_added_twice(library: PlaybookSet) -> None:
    existing = library.by_id["renewal"].examples.match[0]
    corrections = [
        feedback.Correction("price-objection", "renewal", "quote for year two?", "2nd year"),
        feedback.Correction("renewal", "price-objection", "Quote for  year two", ""),
        feedback.Correction("renewal", feedback.NONE, "my kid's school fair", ""),
        feedback.Correction("renewal", "gone-playbook", "something else", ""),
        feedback.Correction("renewal", "big-purchase", existing.upper(), ""),
        feedback.Correction("renewal", "big-purchase", "", "no question: the whole playbook"),
    ]
    found = plan(library, corrections, ["QUOTE FOR YEAR TWO", "quote?", "zzz qqq"])
    assert found.additions["renewal"] == [
        Addition("quote for year two?", "was shown price-objection; why: 2nd year")]
    assert [a.text for a in found.additions[feedback.NONE]] == ["my kid's school fair"]
    near = library.matcher.match("quote?", "guide").candidates[0].playbook
    assert [a.text for a in found.additions[near]] == ["quote?"]
    assert "unanswered; closest was" in found.additions[near][0].note
    assert found.unplaced == ["zzz qqq"]
    assert any("gone-playbook" in s for s in found.skipped)
    assert any("already an example" in s for s in found.skipped)


def test_the_patch_adds_to_the_right_files_and_nothing_else(library: PlaybookSet,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", folder)
    found = plan(library, [feedback.Correction("renewal", "price-objection", "too pricey!!"),
                           feedback.Correction("renewal", feedback.NONE, "lunch is late")], [])
    changed = patched_files(folder, found)
    assert {p.name for p in changed} == {"price-objection.yaml", "background.yaml"}
    after = yaml.safe_load(changed[folder / "price-objection.yaml"][1])
    assert after["examples"]["match"][-1] == "too pricey!!"
    patch = unified_diff(changed, tmp_path)
    assert "--- a/playbooks/price-objection.yaml" in patch
    assert "+++ b/playbooks/background.yaml" in patch
    assert sum(line.startswith("+ ") for line in patch.splitlines()) == 2


def test_without_redis_it_says_what_to_set() -> None:
    done = subprocess.run([sys.executable, "-m", "touchpoint.cli", "suggest"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "REDIS_URL" in done.stderr


def test_to_a_file_with_the_effect_on_standard_output(tmp_path: Path, redis_url: str,
                                                      redis_prefix: str) -> None:
    async def seed() -> None:
        store = RedisStore.from_url(redis_url, prefix=redis_prefix)
        await feedback.record(store, feedback.Correction(
            "renewal", "price-objection", "they think year two costs too much"),
            time.time(), 90)
        await store.close()

    asyncio.run(seed())
    folder = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", folder)
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint.cli", "--playbooks", str(folder), "suggest",
         "--no-questions", "-o", str(tmp_path / "fix.patch")], capture_output=True, text=True,
        cwd=tmp_path, timeout=300,
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": redis_url,
             "TOUCHPOINT_REDIS_PREFIX": redis_prefix})
    assert done.returncode == 0, done.stderr
    patch = (tmp_path / "fix.patch").read_text()
    assert '+    - "they think year two costs too much"  # was shown renewal' in patch
    assert "wrote" in done.stdout and "Effect of the patch" in done.stdout
