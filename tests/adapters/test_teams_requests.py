"""Who may call `/api/messages` and from which tenant: the pure checks, case by case."""

from __future__ import annotations

import pytest

from adapters.teams.config import TeamsConfig
from adapters.teams.requests import (
    allowed_tenants,
    dev_request_problem,
    request_is_local,
    tenant_of,
)

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
LOCAL = {"Host": "127.0.0.1:3000", "Content-Type": "application/json"}


def test_dev_mode_only_trusts_loopback_without_forwarding() -> None:
    assert request_is_local("127.0.0.1", {})
    assert request_is_local("::1", {})
    assert request_is_local("::ffff:127.0.0.1", {})
    assert not request_is_local("10.0.0.5", {})
    assert not request_is_local("192.168.1.20", {})
    assert not request_is_local("2001:db8::1", {})
    assert not request_is_local(None, {})
    assert not request_is_local("", {})
    assert not request_is_local("not an address", {})
    assert not request_is_local("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"})


@pytest.mark.parametrize(("changes", "problem"), [
    ({}, None),
    ({"Host": "localhost"}, None),
    ({"Host": "[::1]:3978"}, None),
    ({"Origin": "http://127.0.0.1:56150"}, None),
    ({"Content-Type": "application/json; charset=utf-8"}, None),
    ({"Host": ""}, "Host"),
    ({"Host": "127.0.0.1.nip.io:3000"}, "Host"),
    ({"Host": "localhost.attacker.example"}, "Host"),
    ({"Content-Type": "text/plain;charset=UTF-8"}, "application/json"),
    ({"Content-Type": "multipart/form-data; boundary=x"}, "application/json"),
    ({"Origin": "https://attacker.example"}, "Origin"),
    ({"Origin": "null"}, "Origin"),
])
def test_dev_mode_wants_a_local_host_json_and_no_foreign_origin(
        changes: dict[str, str], problem: str | None) -> None:
    found = dev_request_problem("127.0.0.1", {**LOCAL, **changes})
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_remote_peer_is_refused_first() -> None:
    found = dev_request_problem("203.0.113.9", LOCAL)
    assert found == "dev mode accepts local requests only"


def test_the_tenant_comes_from_channel_data_or_the_conversation() -> None:
    assert tenant_of({"channelData": {"tenant": {"id": TENANT.upper()}}}) == TENANT
    assert tenant_of({"conversation": {"tenantId": TENANT}}) == TENANT
    assert tenant_of({"channelData": {"tenant": "x"}, "conversation": {"tenantId": 7}}) == ""
    assert tenant_of({}) == ""


def test_which_tenants_are_served() -> None:
    other = "99999999-8888-7777-6666-555555555555"
    single = TeamsConfig(app_id=APP_ID, tenant_id=TENANT.upper())
    assert allowed_tenants(single) == (TENANT,)
    assert allowed_tenants(TeamsConfig(app_id=APP_ID, app_type="MultiTenant",
                                       tenant_id=TENANT)) == ()
    assert allowed_tenants(TeamsConfig(app_id=APP_ID, tenants=(other,),
                                       tenant_id=TENANT)) == (other,)
    assert allowed_tenants(TeamsConfig(dev=True)) == ()
