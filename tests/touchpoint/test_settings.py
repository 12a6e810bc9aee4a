from pathlib import Path

import pytest

from touchpoint.settings import Settings, SettingsError


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.playbooks == Path("playbooks") and settings.port == 3000


def test_values_are_read() -> None:
    settings = Settings.from_env({
        "PORT": "8080", "TOUCHPOINT_NUDGE_COOLDOWN": "60",
        "TOUCHPOINT_PLAYBOOKS": "/srv/pb", "TOUCHPOINT_LOG_LEVEL": "debug",
    })
    assert (settings.port, settings.nudge_cooldown) == (8080, 60.0)
    assert settings.playbooks == Path("/srv/pb") and settings.log_level == "DEBUG"


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"PORT": "eighty", "TOUCHPOINT_NUDGE_COOLDOWN": "-5",
                           "TOUCHPOINT_LOG_LEVEL": "loud"})
    text = str(info.value)
    assert "PORT='eighty'" in text and "TOUCHPOINT_NUDGE_COOLDOWN='-5'" in text
    assert "TOUCHPOINT_LOG_LEVEL" in text and len(info.value.problems) == 3


@pytest.mark.parametrize("port", ["0", "70000", "80.5", "nan", "inf"])
def test_bad_ports(port: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"PORT": port})


def test_questions_are_kept_90_days_unless_set() -> None:
    assert Settings.from_env({}).questions_days == 90
    assert Settings.from_env({"TOUCHPOINT_QUESTIONS_DAYS": "30"}).questions_days == 30
    for bad in ("6", "421", "forever"):
        with pytest.raises(SettingsError, match="TOUCHPOINT_QUESTIONS_DAYS"):
            Settings.from_env({"TOUCHPOINT_QUESTIONS_DAYS": bad})
