"""The daily prompt's settings: defaults, and a malformed one named at start."""

from __future__ import annotations

import pytest

from touchpoint.prompt_jobs import prompt_settings
from touchpoint.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = prompt_settings(Settings.from_env({}))
    assert (settings.grace, settings.rate, settings.lease) == (7200.0, 4.0, 60.0)
    assert settings.keep > settings.grace + 86400


def test_values_from_the_environment() -> None:
    settings = Settings.from_env({"TOUCHPOINT_PROMPT_GRACE": "600", "TOUCHPOINT_PROMPT_RATE": "0.5",
                                  "TOUCHPOINT_PROMPT_LEASE": "30"})
    assert (settings.prompt_grace, settings.prompt_rate, settings.prompt_lease) == (600, 0.5, 30)


@pytest.mark.parametrize("name, value", [
    ("TOUCHPOINT_PROMPT_GRACE", "0"), ("TOUCHPOINT_PROMPT_GRACE", "2 hours"),
    ("TOUCHPOINT_PROMPT_RATE", "0"), ("TOUCHPOINT_PROMPT_RATE", "nan"),
    ("TOUCHPOINT_PROMPT_LEASE", "0.5"), ("TOUCHPOINT_PROMPT_LEASE", "inf"),
])
def test_a_bad_value_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
