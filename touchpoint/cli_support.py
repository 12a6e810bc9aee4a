"""What every `touchpoint` subcommand needs: the playbook folder and loading it."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.library import PlaybookSet
from bot.playbooks import PlaybookErrors
from bot.schedule import Subscription
from touchpoint.loader import load_folder, load_routing, load_schedule
from touchpoint.review import print_errors
from touchpoint.settings import Settings


def folder(args: argparse.Namespace, settings: Settings) -> Path:
    """`DIR` if the command took one, else `--playbooks`, else `TOUCHPOINT_PLAYBOOKS`."""
    given = getattr(args, "dir", None) or getattr(args, "playbooks", None)
    return Path(given) if given else settings.playbooks


def load(args: argparse.Namespace, settings: Settings) -> PlaybookSet | None:
    """The playbook set, or None after printing every error (as annotations with --format)."""
    try:
        return load_folder(folder(args, settings))
    except PlaybookErrors as exc:
        print_errors(exc.errors, getattr(args, "format", "text"))
        return None


def load_with_schedule(args: argparse.Namespace,
                       settings: Settings) -> tuple[PlaybookSet, list[Subscription]] | None:
    """The playbook set and the prompts in its schedule.yaml, or None after printing every
    error of the playbooks, schedule.yaml and routing.yaml (as annotations with --format)."""
    library = load(args, settings)
    if library is None:
        return None
    errors = []
    scheduled: list[Subscription] = []
    try:
        scheduled = load_schedule(folder(args, settings), library.by_id)
    except PlaybookErrors as exc:
        errors.extend(exc.errors)
    try:
        load_routing(folder(args, settings))
    except PlaybookErrors as exc:
        errors.extend(exc.errors)
    if errors:
        print_errors(errors, getattr(args, "format", "text"))
        return None
    return library, scheduled
