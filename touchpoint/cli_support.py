"""What every `touchpoint` subcommand needs: the playbook folder and loading it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot.playbook_set import PlaybookSet
from bot.playbooks import PlaybookErrors
from bot.schedule import Subscription
from touchpoint import shipped
from touchpoint.loader import load_folder, load_routing, load_schedule
from touchpoint.review import print_errors
from touchpoint.settings import Settings

log = logging.getLogger("touchpoint.cli")


def folder(args: argparse.Namespace, settings: Settings) -> Path:
    """`DIR` if the command took one, else `--playbooks`, else `TOUCHPOINT_PLAYBOOKS`."""
    given = getattr(args, "dir", None) or getattr(args, "playbooks", None)
    return Path(given) if given else settings.playbooks


def origin(args: argparse.Namespace, settings: Settings) -> str:
    """Where `folder` came from, in a few words for people."""
    if getattr(args, "dir", None):
        return "the folder given"
    if getattr(args, "playbooks", None):
        return "--playbooks"
    return settings.playbooks_origin


def describe(args: argparse.Namespace, settings: Settings) -> str:
    """The playbook folder in use and why, e.g. `/usr/lib/.../playbooks (shipped with
    Touchpoint)`."""
    return f"{folder(args, settings).resolve()} ({origin(args, settings)})"


def load(args: argparse.Namespace, settings: Settings) -> PlaybookSet | None:
    """The playbook set, or None after printing every error (as annotations with --format)."""
    if origin(args, settings) == shipped.SHIPPED:
        log.info("playbooks: no ./playbooks here and TOUCHPOINT_PLAYBOOKS is not set; using "
                 "the ones shipped with Touchpoint, %s", folder(args, settings))
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
