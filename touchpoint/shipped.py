"""The folders Touchpoint ships beside its code: the starter playbooks and the Slack and
Teams manifests.

A wheel carries them as package data under `touchpoint/shipped/`; a source checkout
(and an editable install) has them at the repository's top level. Either way a
command run from any folder finds them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "shipped"
CHECKOUT = Path(__file__).resolve().parent.parent
SHIPPED = "shipped with Touchpoint"


def folder(name: str) -> Path:
    """`playbooks`, `slack` or `teams` as installed, else as in the checkout."""
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else CHECKOUT / name


def playbooks(explicit: str, cwd: Path) -> tuple[Path, str]:
    """The playbook folder to use, and where it came from, the way people expect:
    the setting when given, else `./playbooks`, else the playbooks shipped with Touchpoint.

    A folder named in the setting is used even when missing, so its error names it.
    """
    if explicit:
        return Path(explicit), "TOUCHPOINT_PLAYBOOKS"
    local = cwd / "playbooks"
    if local.is_dir():
        return Path("playbooks"), "./playbooks"
    shipped = folder("playbooks")
    if shipped.is_dir():
        return shipped, SHIPPED
    return Path("playbooks"), "./playbooks"
