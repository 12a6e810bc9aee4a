"""`playbooks/routing.yaml`: where a call's nudge goes when the sender did not say.

By default the owner of the call gets it by direct message, found by e-mail.
A team may want it in its channel instead: a route matches calls by Gong
workspace, Zoom account, the owner's e-mail domain or the CRM owner, and
names the channel. Zoom's meeting.ended names the host only by Zoom user id,
so the hosts to nudge are listed with their e-mail (and, for those who want a
nudge after every meeting, `every_meeting`). Kept in git next to the
playbooks and validated like them: file, line, what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.calls import Call
from bot.messages import PLATFORMS
from bot.playbooks import PlaybookError, PlaybookErrors, parse_located

ROUTING = "routing.yaml"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_CHANNEL = re.compile(rf"^({'|'.join(PLATFORMS)}):\S{{1,256}}$")
_SLACK_TEAM = re.compile(r"^(?:(E[A-Z0-9]{2,20}):)?(T[A-Z0-9]{2,20})$")
TEAM_HELP = ("must be a Slack workspace id like T0123ABCD, or E0123ABCD:T0123ABCD for a "
             "workspace of an Enterprise Grid organisation")


def slack_team(value: str) -> str:
    """A Slack workspace as written in routing.yaml (`T0123`, `E0123:T0456`), as the Slack
    adapter keys it (`-:T0123`, `E0123:T0456`); "" stays ""; ValueError says the form."""
    if not value:
        return ""
    found = _SLACK_TEAM.match(value.removeprefix("-:"))
    if found is None:
        raise ValueError(TEAM_HELP)
    return f"{found.group(1) or '-'}:{found.group(2)}"
MATCH_FIELDS = ("gong_workspace", "zoom_account", "email_domain", "crm_owner")


class Route(BaseModel):
    """Calls of one team, by exactly one of the match fields, and the channel they go to."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    gong_workspace: str = Field(default="", description="Gong's workspace id "
                                "(callData.metaData.workspaceId).")
    zoom_account: str = Field(default="", description="The Zoom account id "
                              "(payload.account_id).")
    email_domain: str = Field(default="", description="The call owner's e-mail domain, "
                              "e.g. emea.example.com.")
    crm_owner: str = Field(default="", description="The CRM record owner (Gong's CRM "
                           "context OwnerId, or the webhook's owner).")
    channel: str = Field(description="slack:<channel id> or teams:<conversation id>.")
    slack_team: str = Field(default="", description="The Slack workspace the channel is in "
                            "(T0123ABCD, or E0123ABCD:T0123ABCD in Enterprise Grid), when "
                            "Touchpoint is installed in many: the nudge and the owner's "
                            "look-up by e-mail use that workspace's token.")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not _CHANNEL.match(value):
            raise ValueError("must be slack:<channel id> or teams:<conversation id>")
        return value

    @field_validator("slack_team")
    @classmethod
    def _team(cls, value: str) -> str:
        return slack_team(value)

    @field_validator("email_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.lower().lstrip("@")
        if value and not _DOMAIN.match(value):
            raise ValueError("must be a domain like example.com")
        return value

    @model_validator(mode="after")
    def _one_match(self) -> Route:
        given = [name for name in MATCH_FIELDS if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("needs exactly one of " + ", ".join(MATCH_FIELDS)
                             + (f" (found {', '.join(given)})" if given else ""))
        if self.slack_team and not self.channel.startswith("slack:"):
            raise ValueError("slack_team goes with a slack: channel")
        return self

    def matches(self, call: Call) -> bool:
        if self.gong_workspace:
            return call.source == "gong" and call.workspace == self.gong_workspace
        if self.zoom_account:
            return call.source == "zoom" and call.account == self.zoom_account
        if self.email_domain:
            return call.domain == self.email_domain
        return bool(call.crm_owner) and call.crm_owner == self.crm_owner


class ZoomHost(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(description="The host's Zoom user id (payload.object.host_id).")
    email: str = Field(description="The host's e-mail, to find them in Slack or Teams.")
    every_meeting: bool = Field(default=False, description="Nudge after every meeting this "
                                "person hosts, not only those whose topic reads as a "
                                "customer call.")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("must be an e-mail address")
        return value.lower()


class RoutingFile(BaseModel):
    """`playbooks/routing.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    direct_messages: str = Field(default="", description="slack or teams: where an owner's "
                                 "direct message goes (default: Slack when it is on).")
    slack_team: str = Field(default="", description="The Slack workspace owners are found "
                            "in by e-mail, and sent their direct messages in, when Touchpoint "
                            "is installed in many (T0123ABCD or E0123ABCD:T0123ABCD); also "
                            "the workspace of routes that name none.")
    routes: list[Route] = Field(default_factory=list)
    zoom_hosts: list[ZoomHost] = Field(default_factory=list)

    @field_validator("direct_messages")
    @classmethod
    def _platform(cls, value: str) -> str:
        if value and value not in PLATFORMS:
            raise ValueError("must be " + " or ".join(PLATFORMS))
        return value

    @field_validator("slack_team")
    @classmethod
    def _team(cls, value: str) -> str:
        return slack_team(value)


_FIELDS = {(): list(RoutingFile.model_fields), ("routes",): list(Route.model_fields),
           ("zoom_hosts",): list(ZoomHost.model_fields)}


@dataclass(frozen=True)
class Routing:
    direct_messages: str = ""
    routes: tuple[Route, ...] = ()
    zoom_hosts: dict[str, ZoomHost] = field(default_factory=dict)
    slack_team: str = ""


@dataclass(frozen=True)
class Target:
    """Where one call's nudge goes: a channel, or the direct messages of the person with
    `email` (looked up on `platform`)."""

    platform: str
    channel: str = ""
    email: str = ""
    team: str = ""
    """The Slack workspace to post and look people up in (`slack_team`); "" when
    Touchpoint serves one, or the channel's workspace is to be looked up."""


def parse_routing(source: str, text: str) -> Routing:
    """Validate `routing.yaml`; `PlaybookErrors` lists every problem with its line."""
    model, where = parse_located(source, text, RoutingFile, _FIELDS)
    errors = []
    hosts: dict[str, ZoomHost] = {}
    for index, host in enumerate(model.zoom_hosts):
        if host.id in hosts:
            line = where.get(("zoom_hosts", index), (1, 1))[0]
            errors.append(PlaybookError(source, line, 5, f"zoom_hosts[{index}].id",
                                        f"{host.id} is listed twice"))
        hosts[host.id] = host
    if errors:
        raise PlaybookErrors(errors)
    return Routing(model.direct_messages, tuple(model.routes), hosts, model.slack_team)


def route(routing: Routing, call: Call, platforms: Sequence[str]) -> Target | None:
    """The sender's channel, else the first route that matches, else the owner by direct
    message; None when nobody can be found (no channel, no e-mail, platform off)."""
    if call.platform and call.channel:
        return Target(call.platform, call.channel) if call.platform in platforms else None
    for candidate in routing.routes:
        if candidate.matches(call):
            platform, _, channel = candidate.channel.partition(":")
            team = (candidate.slack_team or routing.slack_team) if platform == "slack" else ""
            return Target(platform, channel, team=team) if platform in platforms else None
    if not call.owner_email:
        return None
    platform = routing.direct_messages or next((p for p in PLATFORMS if p in platforms), "")
    team = routing.slack_team if platform == "slack" else ""
    return Target(platform, email=call.owner_email, team=team) \
        if platform in platforms else None
