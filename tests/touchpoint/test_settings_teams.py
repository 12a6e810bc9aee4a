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
    assert settings.microsoft_app_type == "SingleTenant"


def test_single_tenant_is_the_default_and_needs_the_tenant() -> None:
    env = {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret"}
    found = problems(env)
    assert any("MicrosoftAppTenantId: required for MicrosoftAppType=SingleTenant (the default"
               in p for p in found), found
    settings = Settings.from_env({**env, "MicrosoftAppTenantId": TENANT})
    assert settings.microsoft_app_type == "SingleTenant"


def test_multi_tenant_bot() -> None:
    settings = Settings.from_env({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret",
                                  "MicrosoftAppType": "MultiTenant"})
    assert settings.microsoft_app_type == "MultiTenant"
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
                                  "MicrosoftAppTenantId": "contoso.onmicrosoft.com",
                                  "TOUCHPOINT_TEAMS_TENANTS": TENANT})
    assert settings.microsoft_app_type == "UserAssignedMSI"


def test_tenant_allow_list() -> None:
    other = "00000000-aaaa-bbbb-cccc-000000000000"
    settings = Settings.from_env({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x",
                                  "MicrosoftAppTenantId": TENANT,
                                  "TOUCHPOINT_TEAMS_TENANTS": f"{TENANT.upper()}, {other}"})
    assert settings.teams_tenants == (TENANT, other)
    assert Settings.from_env({}).teams_tenants == ()


def test_a_tenant_domain_needs_the_tenant_id_for_the_allow_list() -> None:
    found = problems({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x",
                      "MicrosoftAppTenantId": "contoso.onmicrosoft.com"})
    assert any("TOUCHPOINT_TEAMS_TENANTS: required when MicrosoftAppTenantId is a domain" in p
               for p in found), found


def test_dev_mode_has_its_own_redis_prefix() -> None:
    assert Settings.from_env({}).redis_prefix == "touchpoint:"
    assert Settings.from_env({"TOUCHPOINT_TEAMS_DEV": "1"}).redis_prefix \
        == "touchpoint:teams-dev:"
    assert Settings.from_env({"TOUCHPOINT_TEAMS_DEV": "1", "TOUCHPOINT_REDIS_PREFIX": "tp:"}) \
        .redis_prefix == "tp:teams-dev:"


@pytest.mark.parametrize(("env", "expected"), [
    ({"MicrosoftAppId": "my-bot"}, "MicrosoftAppId='my-bot': must be the bot's app id"),
    ({"MicrosoftAppId": APP_ID, "MicrosoftAppTenantId": TENANT},
     "MicrosoftAppPassword: required"),
    ({"MicrosoftAppPassword": "s3cret"}, "MicrosoftAppId is not"),
    ({"MicrosoftAppType": "Anything"}, "MicrosoftAppType='Anything': must be one of"),
    ({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x", "MicrosoftAppTenantId": "a b"},
     "MicrosoftAppTenantId='a b'"),
    ({"TOUCHPOINT_TEAMS_DEV": "maybe"}, "TOUCHPOINT_TEAMS_DEV='maybe': must be 1 or 0"),
    ({"TOUCHPOINT_TEAMS_DEV": "1", "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x"},
     "cannot be combined with MicrosoftAppId"),
    ({"TOUCHPOINT_TEAMS_TENANTS": "contoso"}, "TOUCHPOINT_TEAMS_TENANTS: 'contoso' is not"),
    ({"TOUCHPOINT_TEAMS_SERVICE_URLS": "(["}, "TOUCHPOINT_TEAMS_SERVICE_URLS: not a regular"),
    ({"TOUCHPOINT_TEAMS_OPENID_URL": "http://keys.example.com/"},
     "TOUCHPOINT_TEAMS_OPENID_URL='http://keys.example.com/': must be an https:// URL"),
])
def test_wrong_combinations_are_named(env: dict[str, str], expected: str) -> None:
    found = problems(env)
    assert any(expected in p for p in found), found
    assert not any("s3cret" in p for p in found)


@pytest.mark.parametrize(("raw", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_dev_flag(raw: str, on: bool) -> None:
    assert Settings.from_env({"TOUCHPOINT_TEAMS_DEV": raw}).teams_dev is on
