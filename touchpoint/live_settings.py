"""The settings of a live playbook folder: admins, folder watching, following a git repository."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from bot.messages import PLATFORMS
from touchpoint.env_checks import number, secret

if TYPE_CHECKING:  # the defaults' type only: settings imports this module
    from touchpoint.settings import Settings


class LiveSettings(TypedDict):
    admins: tuple[str, ...]
    nudge_switchers: tuple[str, ...]
    admin_channel: str
    watch_interval: float
    playbooks_git: str
    playbooks_branch: str
    playbooks_git_path: str
    playbooks_git_interval: float
    playbooks_git_cache: Path
    playbooks_git_max_mb: float
    webhook_secret: str
    git_webhook_secret: str


_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
_GIT_URL = re.compile(r"^(https?|ssh|git|file)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")
_ADMIN = re.compile(rf"^(({'|'.join(PLATFORMS)}):)?[\w:@.-]+$")


def branch_digest(url: str, branch: str) -> str:
    """A short name for one branch of one repository (its cache folder, its shared commit)."""
    return hashlib.sha256(f"{url}#{branch}".encode()).hexdigest()[:12]


def _user_ids(env: Mapping[str, str], name: str, problems: list[str]) -> tuple[str, ...]:
    ids = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    for user in ids:
        if not _ADMIN.match(user):
            problems.append(f"{name}: {user!r} is not a user id (e.g. U0123ABCD, "
                            "slack:U0123ABCD or teams:<Azure AD object id>, comma-separated)")
    return ids


def live_settings(env: Mapping[str, str], problems: list[str], defaults: Settings) -> LiveSettings:
    """Admins, folder watching and following a git repository, checked together."""

    def seconds(name: str, default: float, high: float) -> float:
        return number(problems, name, env.get(name, "").strip(), default, 0, high,
                       "a number of seconds")

    admins = _user_ids(env, "TOUCHPOINT_ADMINS", problems)
    switchers = _user_ids(env, "TOUCHPOINT_NUDGE_SWITCHERS", problems)
    channel = env.get("TOUCHPOINT_ADMIN_CHANNEL", "").strip()
    if channel and not re.match(rf"^({'|'.join(PLATFORMS)}):\S+$", channel):
        problems.append(f"TOUCHPOINT_ADMIN_CHANNEL={channel!r}: must be slack:<channel id> or "
                        "teams:<conversation id>")
    git = env.get("TOUCHPOINT_PLAYBOOKS_GIT", "").strip()
    url_like = re.match(r"^[A-Za-z][\w+.-]*://", git) is not None
    if git and (git.startswith("-") or "::" in git or any(c.isspace() for c in git)
                or (url_like and not _GIT_URL.match(git))):
        problems.append("TOUCHPOINT_PLAYBOOKS_GIT: must be a repository URL (https://, ssh://, "
                        "git://, file://, user@host:path) or a local path")
    branch = env.get("TOUCHPOINT_PLAYBOOKS_BRANCH", "").strip() or "main"
    if not _BRANCH.match(branch) or branch.endswith(".lock"):
        problems.append(f"TOUCHPOINT_PLAYBOOKS_BRANCH={branch!r}: must be a branch name")
    path = env.get("TOUCHPOINT_PLAYBOOKS_GIT_PATH", "").strip().strip("/")
    if path in (".", "./"):
        path = ""
    if path.startswith("-") or ".." in path.split("/") or "\\" in path:
        problems.append(f"TOUCHPOINT_PLAYBOOKS_GIT_PATH={path!r}: must be a folder inside the "
                        "repository, e.g. playbooks")
    cache = env.get("TOUCHPOINT_PLAYBOOKS_GIT_CACHE", "").strip()
    return {
        "admins": admins,
        "nudge_switchers": switchers,
        "admin_channel": channel,
        "watch_interval": seconds("TOUCHPOINT_WATCH_INTERVAL", defaults.watch_interval, 3600),
        "playbooks_git": git,
        "playbooks_branch": branch,
        "playbooks_git_path": path,
        "playbooks_git_interval": seconds("TOUCHPOINT_PLAYBOOKS_GIT_INTERVAL",
                                          defaults.playbooks_git_interval, 86400),
        "playbooks_git_cache": Path(cache) if cache else
        Path(tempfile.gettempdir()) / f"touchpoint-playbooks-{branch_digest(git, branch)}",
        "playbooks_git_max_mb": number(problems, "TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB",
                                        env.get("TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB"),
                                        defaults.playbooks_git_max_mb, 1, 10_000,
                                        "a number of megabytes"),
        "webhook_secret": secret(env, "TOUCHPOINT_WEBHOOK_SECRET", problems),
        "git_webhook_secret": secret(env, "TOUCHPOINT_GIT_WEBHOOK_SECRET", problems),
    }
