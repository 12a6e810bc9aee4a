"""REDIS_SENTINELS, REDIS_SENTINEL_SERVICE and REDIS_CLUSTER: read, and refused with a reason."""

from __future__ import annotations

import pytest

from touchpoint.settings import Settings, SettingsError


def test_one_server_is_the_default() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://localhost:6379/0"})
    assert settings.uses_redis and not settings.redis_cluster
    assert settings.redis_sentinels == ()
    assert not Settings.from_env({}).uses_redis


def test_sentinels_alone_are_enough_to_use_redis() -> None:
    settings = Settings.from_env({
        "REDIS_SENTINELS": "sentinel-0.redis:26379, 10.0.0.7:26380,[::1]:26379",
        "REDIS_SENTINEL_SERVICE": "mymaster"})
    assert settings.uses_redis and settings.redis_url == ""
    assert settings.redis_sentinels == (("sentinel-0.redis", 26379), ("10.0.0.7", 26380),
                                        ("::1", 26379))
    assert settings.redis_sentinel_service == "mymaster"


def test_a_cluster_is_any_node_of_it() -> None:
    settings = Settings.from_env({"REDIS_URL": "rediss://node-1.cache:6379", "REDIS_CLUSTER": "1"})
    assert settings.redis_cluster


@pytest.mark.parametrize(("env", "named"), [
    ({"REDIS_SENTINELS": "sentinel:26379"}, "REDIS_SENTINEL_SERVICE: required"),
    ({"REDIS_SENTINEL_SERVICE": "mymaster"}, "REDIS_SENTINELS is not"),
    ({"REDIS_SENTINELS": "sentinel", "REDIS_SENTINEL_SERVICE": "m"}, "'sentinel' is not host:port"),
    ({"REDIS_SENTINELS": "s:99999", "REDIS_SENTINEL_SERVICE": "m"}, "'s:99999' is not host:port"),
    ({"REDIS_SENTINELS": "s:1", "REDIS_SENTINEL_SERVICE": "my master"}, "REDIS_SENTINEL_SERVICE="),
    ({"REDIS_SENTINELS": "s:1", "REDIS_SENTINEL_SERVICE": "m",
      "REDIS_URL": "unix:///run/redis.sock"}, "unix:// socket cannot be combined"),
    ({"REDIS_CLUSTER": "1"}, "REDIS_URL: required with REDIS_CLUSTER=1"),
    ({"REDIS_CLUSTER": "maybe", "REDIS_URL": "redis://h:1"}, "REDIS_CLUSTER='maybe'"),
    ({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://h:1/2"}, "database 0 only"),
    ({"REDIS_CLUSTER": "1", "REDIS_URL": "unix:///run/redis.sock"}, "not a unix:// socket"),
    ({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://h:1", "REDIS_SENTINELS": "s:1",
      "REDIS_SENTINEL_SERVICE": "m"}, "set one of them"),
    ({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://h:1", "TOUCHPOINT_REDIS_PREFIX": "{tp}:"},
     "cannot hold '{'"),
])
def test_bad_topologies_are_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert named in str(info.value)


def test_the_password_in_the_url_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://:hunter2@h:1/5"})
    assert "hunter2" not in str(info.value)
