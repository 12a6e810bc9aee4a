"""Bot Framework variables: Teams is off without them; a wrong combination stops the start."""

from __future__ import annotations

import pytest

from touchpoint.settings import Settings, SettingsError

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return info.value.problems


def test_no_teams_variables_means_teams_off() -> None:
    settings = Settings.from_env({})
    assert settings.microsoft_app_id == "" and not settings.teams_dev
    assert settings.microsoft_app_type == "MultiTenant"


def test_multi_tenant_bot() -> None:
    settings = Settings.from_env({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret"})
    assert settings.microsoft_app_id == APP_ID
    assert settings.microsoft_app_password == "s3cret"
    assert "s3cret" not in repr(settings)


def test_single_tenant_bot_needs_its_tenant() -> None:
    env = {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret",
           "MicrosoftAppType": "singletenant"}
    assert any("MicrosoftAppTenantId: required" in p for p in problems(env))
    settings = Settings.from_env({**env, "MicrosoftAppTenantId": TENANT})
    assert settings.microsoft_app_type == "SingleTenant"
    assert settings.microsoft_app_tenant_id == TENANT


def test_managed_identity_needs_no_password() -> None:
    settings = Settings.from_env({"MicrosoftAppId": APP_ID, "MicrosoftAppType": "UserAssignedMSI",
                                  "MicrosoftAppTenantId": "contoso.onmicrosoft.com"})
    assert settings.microsoft_app_type == "UserAssignedMSI"


@pytest.mark.parametrize(("env", "expected"), [
    ({"MicrosoftAppId": "my-bot"}, "MicrosoftAppId='my-bot': must be the bot's app id"),
    ({"MicrosoftAppId": APP_ID}, "MicrosoftAppPassword: required"),
    ({"MicrosoftAppPassword": "s3cret"}, "MicrosoftAppId is not"),
    ({"MicrosoftAppType": "Anything"}, "MicrosoftAppType='Anything': must be one of"),
    ({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x", "MicrosoftAppTenantId": "a b"},
     "MicrosoftAppTenantId='a b'"),
    ({"TOUCHPOINT_TEAMS_DEV": "maybe"}, "TOUCHPOINT_TEAMS_DEV='maybe': must be 1 or 0"),
    ({"TOUCHPOINT_TEAMS_DEV": "1", "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x"},
     "cannot be combined with MicrosoftAppId"),
])
def test_wrong_combinations_are_named(env: dict[str, str], expected: str) -> None:
    found = problems(env)
    assert any(expected in p for p in found), found
    assert not any("s3cret" in p for p in found)


@pytest.mark.parametrize(("raw", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_dev_flag(raw: str, on: bool) -> None:
    assert Settings.from_env({"TOUCHPOINT_TEAMS_DEV": raw}).teams_dev is on
