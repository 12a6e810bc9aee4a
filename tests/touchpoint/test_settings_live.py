"""The live-playbook settings: admins, admin channel, watching, git, webhook secret."""

from pathlib import Path

import pytest

from touchpoint.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.admins == () and settings.admin_channel == ""
    assert settings.watch_interval == 2.0 and settings.playbooks_git == ""
    assert settings.playbooks_branch == "main" and settings.playbooks_git_interval == 300.0
    assert settings.playbooks_git_cache.name.startswith("touchpoint-playbooks-")


def test_values_are_read() -> None:
    settings = Settings.from_env({
        "TOUCHPOINT_ADMINS": "U0123ABCD, slack:U0999ZZZZ,teams:29:1abc-DEF ,",
        "TOUCHPOINT_ADMIN_CHANNEL": "teams:19:abc@thread.tacv2",
        "TOUCHPOINT_WATCH_INTERVAL": "0",
        "TOUCHPOINT_PLAYBOOKS_GIT": "https://x-token:s3cret@git.example.com/sales/playbooks.git",
        "TOUCHPOINT_PLAYBOOKS_BRANCH": "release/2024",
        "TOUCHPOINT_PLAYBOOKS_GIT_PATH": "/playbooks/",
        "TOUCHPOINT_PLAYBOOKS_GIT_INTERVAL": "60",
        "TOUCHPOINT_PLAYBOOKS_GIT_CACHE": "/var/cache/tp",
        "TOUCHPOINT_WEBHOOK_SECRET": " hush-0123456789abcdef ",
        "TOUCHPOINT_GIT_WEBHOOK_SECRET": " shh-0123456789abcdef ",
        "TOUCHPOINT_NUDGE_SWITCHERS": "U0TEAMLEAD, teams:abc-1",
    })
    assert settings.nudge_switchers == ("U0TEAMLEAD", "teams:abc-1")
    assert settings.admins == ("U0123ABCD", "slack:U0999ZZZZ", "teams:29:1abc-DEF")
    assert settings.admin_channel == "teams:19:abc@thread.tacv2"
    assert settings.watch_interval == 0 and settings.playbooks_git_interval == 60
    assert settings.playbooks_branch == "release/2024"
    assert settings.playbooks_git_path == "playbooks"
    assert settings.playbooks_git_cache == Path("/var/cache/tp")
    assert settings.webhook_secret == "hush-0123456789abcdef"
    assert settings.git_webhook_secret == "shh-0123456789abcdef"
    assert "s3cret" not in repr(settings) and "hush" not in repr(settings)
    assert "shh" not in repr(settings)


@pytest.mark.parametrize("url", ["git@github.com:sales/playbooks.git", "/srv/playbooks.git",
                                 "ssh://git@host/pb.git", "file:///srv/pb.git", "../pb"])
def test_git_sources_accepted(url: str) -> None:
    assert Settings.from_env({"TOUCHPOINT_PLAYBOOKS_GIT": url}).playbooks_git == url


@pytest.mark.parametrize("name, value, problem", [
    ("TOUCHPOINT_PLAYBOOKS_GIT", "ext::sh -c touch% /tmp/pwned", "TOUCHPOINT_PLAYBOOKS_GIT"),
    ("TOUCHPOINT_PLAYBOOKS_GIT", "--upload-pack=evil", "TOUCHPOINT_PLAYBOOKS_GIT"),
    ("TOUCHPOINT_PLAYBOOKS_GIT", "ftp://host/pb.git", "TOUCHPOINT_PLAYBOOKS_GIT"),
    ("TOUCHPOINT_PLAYBOOKS_BRANCH", "-f", "TOUCHPOINT_PLAYBOOKS_BRANCH"),
    ("TOUCHPOINT_PLAYBOOKS_BRANCH", "a..b", "TOUCHPOINT_PLAYBOOKS_BRANCH"),
    ("TOUCHPOINT_PLAYBOOKS_GIT_PATH", "../etc", "TOUCHPOINT_PLAYBOOKS_GIT_PATH"),
    ("TOUCHPOINT_PLAYBOOKS_GIT_INTERVAL", "-1", "TOUCHPOINT_PLAYBOOKS_GIT_INTERVAL"),
    ("TOUCHPOINT_WATCH_INTERVAL", "often", "TOUCHPOINT_WATCH_INTERVAL"),
    ("TOUCHPOINT_ADMIN_CHANNEL", "C0123", "slack:<channel id>"),
    ("TOUCHPOINT_ADMINS", "U1, <@U2>", "TOUCHPOINT_ADMINS"),
    ("TOUCHPOINT_NUDGE_SWITCHERS", "#general", "TOUCHPOINT_NUDGE_SWITCHERS"),
    ("TOUCHPOINT_WEBHOOK_SECRET", "x", "TOUCHPOINT_WEBHOOK_SECRET: must be at least 16"),
    ("TOUCHPOINT_WEBHOOK_SECRET", "fifteen-chars15", "TOUCHPOINT_WEBHOOK_SECRET: must be at"),
    ("TOUCHPOINT_GIT_WEBHOOK_SECRET", "short", "TOUCHPOINT_GIT_WEBHOOK_SECRET: must be at"),
])
def test_problems_are_named(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert problem in str(error.value)
