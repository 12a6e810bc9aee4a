"""Slack variables: Slack is off without them; a combination that cannot work stops the start."""

from __future__ import annotations

import pytest

from touchpoint.settings import Settings, SettingsError

TOKEN = "xoxb-1111-2222-fakefakefake"
SECRET = "8f742231b10e8888abcd99edabcd00d0"
APP_TOKEN = "xapp-1-A0FAKEAPP-3333-fakefakefake"


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return info.value.problems


def test_no_slack_variables_means_slack_off() -> None:
    settings = Settings.from_env({})
    assert settings.slack_bot_token == ""
    assert settings.slack_api_url == "https://slack.com/api/"


def test_events_api_and_socket_mode_combinations() -> None:
    http = Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET})
    assert (http.slack_bot_token, http.slack_signing_secret) == (TOKEN, SECRET)
    socket = Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN})
    assert socket.slack_app_token == APP_TOKEN and socket.slack_signing_secret == ""
    both = Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                              "SLACK_APP_TOKEN": APP_TOKEN,
                              "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert both.slack_api_url == "http://127.0.0.1:9/api/"


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                                  "SLACK_APP_TOKEN": APP_TOKEN})
    shown = repr(settings)
    assert TOKEN not in shown and SECRET not in shown and APP_TOKEN not in shown


def test_a_token_without_a_way_to_receive_events() -> None:
    [problem] = problems({"SLACK_BOT_TOKEN": TOKEN})
    assert problem.startswith("SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN")
    assert "SLACK_APP_TOKEN" in problem


@pytest.mark.parametrize("env", [
    {"SLACK_SIGNING_SECRET": SECRET},
    {"SLACK_APP_TOKEN": APP_TOKEN},
])
def test_credentials_without_the_bot_token(env: dict[str, str]) -> None:
    [problem] = problems(env)
    assert problem.startswith("SLACK_BOT_TOKEN: required")


@pytest.mark.parametrize("secret", [TOKEN, APP_TOKEN, "abc def"])
def test_a_signing_secret_that_is_not_one(secret: str) -> None:
    [problem] = problems({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": secret})
    assert problem.startswith("SLACK_SIGNING_SECRET: must be the app's Signing Secret")
    assert secret not in problem


@pytest.mark.parametrize("secret", ["x", "0123456789abcde"])
def test_a_short_signing_secret_is_refused(secret: str) -> None:
    [problem] = problems({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": secret})
    assert problem.startswith("SLACK_SIGNING_SECRET: must be at least 16 characters")
    assert secret not in problem
    assert Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "0123456789abcdef"})


def test_every_problem_is_listed_at_once() -> None:
    found = problems({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xoxb-wrong",
                      "SLACK_API_URL": "slack.com/api"})
    assert [p.split(":")[0].split("=")[0] for p in found] == [
        "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL"]
    assert "xoxp-user-token" not in " ".join(found)
