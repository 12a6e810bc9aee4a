"""Running git for playbooks: a command with a timeout, a commit looked at and checked out.

Git runs as an asyncio subprocess with a timeout and no terminal prompt, so a
slow or unreachable host never blocks the event loop or waits for a password.
Used by `gitsync` (following a repository) and by `touchpoint diff` and `touchpoint
test --base` (an earlier version of a folder), which need none of the server.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

GIT_TIMEOUT = 120.0
"""Seconds one git command may take; a clone of a playbook repository takes a few."""


class GitError(Exception):
    """A git command failed; the message is git's own last words, without credentials."""


class RefusedCommit(GitError):
    """A commit whose files are not checked out: symbolic links, or too much of them."""


BLOCK = 4096
"""What one file takes on disk at least: a commit of a million empty files is no small one."""


async def inspect(git_dir: Path, commit: str, max_bytes: int) -> None:
    """Refuse a commit that holds a symbolic link (it could point anywhere on the server, and
    the loader would read and quote it) or whose files would take more than `max_bytes`."""
    listing = await git(f"--git-dir={git_dir.absolute()}", "ls-tree", "-r", "-l", "-z",
                        "--full-tree", "--end-of-options", commit)
    links: list[str] = []
    total = 0
    for entry in filter(None, listing.split("\0")):
        info, _, path = entry.partition("\t")
        mode, _, rest = info.partition(" ")
        size = rest.split()[-1] if rest.split() else "-"
        if mode == "120000":
            links.append(path)
        elif size.isdigit():
            total += max(BLOCK, int(size))
    if links:
        shown = ", ".join(links[:5]) + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        raise RefusedCommit(f"{shown}: symbolic links are not followed out of the repository; "
                            "commit the files themselves")
    if total > max_bytes:
        raise RefusedCommit(f"its files take {total / 1e6:.1f} MB, more than the "
                            f"{max_bytes / 1e6:g} MB TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB allows")


def redact(url: str) -> str:
    """A repository URL as it may be logged: without `user:token@`."""
    return re.sub(r"(?<=://)[^/@\s]+@", "", url)


async def git(*args: str | Path, env: Mapping[str, str] | None = None,
              timeout: float = GIT_TIMEOUT) -> str:
    """Run git and return its standard output, stripped; raises `GitError`."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    process = await asyncio.create_subprocess_exec(
        "git", *map(str, args), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment)
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except TimeoutError:
        raise GitError(f"git {args[0] if args else ''} took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:  # timed out or cancelled (shutdown): no stray git
            process.kill()
            await process.wait()
    if process.returncode != 0:
        words = redact(err.decode(errors="replace").strip()).splitlines()
        raise GitError(words[-1] if words else f"git exited with {process.returncode}")
    return out.decode(errors="replace").strip()


async def checkout(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of `commit` into the new folder `dest`, appearing there all at once."""
    git_dir, dest = git_dir.absolute(), dest.absolute()  # git runs in another directory
    scratch = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}"
    tree = scratch / "tree"
    await asyncio.to_thread(scratch.mkdir, parents=True)
    try:
        env = {"GIT_INDEX_FILE": str(scratch / "index")}
        where = (f"--git-dir={git_dir}", f"--work-tree={scratch}")
        await git(*where, "read-tree", commit, env=env)
        await git(*where, "checkout-index", "-a", "-f", f"--prefix={tree}/", env=env)
        await asyncio.to_thread(_publish, tree, dest)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def _publish(tree: Path, dest: Path) -> None:
    tree.mkdir(exist_ok=True)  # a commit without files writes nothing
    if dest.exists():
        return  # another checkout of the same commit got there first: identical
    tree.rename(dest)


async def export_folder(folder: Path, revision: str, dest: Path) -> Path:
    """`folder` (inside a git work tree) as it was at `revision`, written under `dest`.

    For `touchpoint diff` and `touchpoint test --base`, which compare a playbook
    folder with an earlier version of itself.
    """
    if revision.startswith("-"):
        raise GitError(f"{revision!r} is not a revision")
    git_dir = Path(await git("-C", folder, "rev-parse", "--absolute-git-dir"))
    prefix = await git("-C", folder, "rev-parse", "--show-prefix")
    commit = await git("-C", folder, "rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{revision}^{{commit}}")
    await checkout(git_dir, commit, dest)
    return dest / prefix
