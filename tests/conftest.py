"""Shared fixtures: the shipped playbooks, loaded once for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.library import PlaybookSet
from touchpoint.loader import load_folder

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
DATA = Path(__file__).resolve().parent / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def library() -> PlaybookSet:
    return load_folder(PLAYBOOKS)
