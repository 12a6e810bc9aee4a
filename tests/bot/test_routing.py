"""routing.yaml: validated with file and line, and where each call's nudge goes."""

from __future__ import annotations

import pytest

from bot.calls import Call
from bot.playbooks import PlaybookErrors
from bot.routing import Routing, Target, parse_routing, route

FILE = """\
direct_messages: slack
routes:
  - gong_workspace: "623457276584334"
    channel: slack:C0EMEA001
  - zoom_account: AAAAAABBBB
    channel: teams:19:abc@thread.tacv2
  - email_domain: "@Success.Example.com"
    channel: slack:C0SUCCESS
  - crm_owner: 0051Q00000FAKE01
    channel: slack:C0KEYACCT
zoom_hosts:
  - id: x1yCzABCDEfg23HiJKl4mN
    email: Jane@Example.com
    every_meeting: true
"""

BOTH = ["slack", "teams"]


def gong(**fields: str) -> Call:
    return Call("gong", "1", "Acme", **fields)


def test_a_full_file_is_read() -> None:
    routing = parse_routing("routing.yaml", FILE)
    assert routing.direct_messages == "slack" and len(routing.routes) == 4
    assert routing.routes[2].email_domain == "success.example.com"
    host = routing.zoom_hosts["x1yCzABCDEfg23HiJKl4mN"]
    assert host.email == "jane@example.com" and host.every_meeting


def test_the_first_matching_route_wins_then_the_owner_by_direct_message() -> None:
    routing = parse_routing("routing.yaml", FILE)
    assert route(routing, gong(workspace="623457276584334", owner_email="a@success.example.com"),
                 BOTH) == Target("slack", "C0EMEA001")
    assert route(routing, Call("zoom", "u", "Acme", account="AAAAAABBBB"), BOTH) == \
        Target("teams", "19:abc@thread.tacv2")
    assert route(routing, gong(owner_email="a@success.example.com"), BOTH) == \
        Target("slack", "C0SUCCESS")
    assert route(routing, gong(crm_owner="0051Q00000FAKE01"), BOTH) == \
        Target("slack", "C0KEYACCT")
    assert route(routing, gong(owner_email="jane@other.example"), BOTH) == \
        Target("slack", email="jane@other.example")
    assert route(routing, gong(), BOTH) is None


def test_the_senders_channel_comes_first_and_platforms_that_are_off_find_nobody() -> None:
    routing = parse_routing("routing.yaml", FILE)
    hook = Call("hook", "m1", "Acme", platform="slack", channel="C0GIVEN",
                owner_email="a@success.example.com")
    assert route(routing, hook, BOTH) == Target("slack", "C0GIVEN")
    assert route(routing, hook, ["teams"]) is None
    assert route(routing, Call("zoom", "u", "Acme", account="AAAAAABBBB"), ["slack"]) is None
    assert route(Routing(), gong(owner_email="j@x.example"), ["teams"]) == \
        Target("teams", email="j@x.example")


@pytest.mark.parametrize("text, line, where, problem", [
    ("routes:\n  - channel: slack:C1\n", 2, "routes[0]", "needs exactly one of"),
    ("routes:\n  - gong_workspace: '1'\n    zoom_account: b\n    channel: slack:C1\n", 2,
     "routes[0]", "found gong_workspace, zoom_account"),
    ("routes:\n  - email_domain: example.com\n    channel: '#sales'\n", 3, "routes[0].channel",
     "must be slack:<channel id>"),
    ("routes:\n  - email_domain: not a domain\n    channel: slack:C1\n", 2,
     "routes[0].email_domain", "must be a domain"),
    ("zoom_hosts:\n  - id: h1\n    email: nobody\n", 3, "zoom_hosts[0].email",
     "must be an e-mail address"),
    ("zoom_hosts:\n  - id: h1\n    email: a@b.example\n  - id: h1\n    email: c@d.example\n", 4,
     "zoom_hosts[1].id", "listed twice"),
    ("direct_messages: email\n", 1, "direct_messages", "must be slack or teams"),
    ("route:\n  - channel: slack:C1\n", 1, "route", "unknown field"),
])
def test_mistakes_name_the_file_line_and_field(text: str, line: int, where: str,
                                               problem: str) -> None:
    with pytest.raises(PlaybookErrors) as caught:
        parse_routing("playbooks/routing.yaml", text)
    (error,) = caught.value.errors
    shown = str(error)
    assert shown.startswith(f"playbooks/routing.yaml:{line}:"), shown
    assert where in shown and problem in shown
