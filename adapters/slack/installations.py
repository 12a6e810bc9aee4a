"""Where Touchpoint keeps the workspaces it is installed in, for Slack's OAuth install.

One record per workspace (or per Enterprise Grid organisation, for an org-wide
install), in Redis when instances share state, else in this process. Each
record is one hash: the latest installation, each installing person's, and the
bot, every value encrypted with `TOUCHPOINT_TOKEN_KEY`, so a copy of Redis (a
backup, a replica, a `MONITOR`) does not hand out bot tokens. One key per
workspace keeps every operation on one hash slot, so a Redis Cluster serves it too.
"""

from __future__ import annotations

import binascii
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis, RedisCluster
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

log = logging.getLogger("touchpoint.slack")

ORG = "-"
"""The team part of an org-wide install's key: it answers for every workspace of the org."""
LATEST = "installation"
BOT = "bot"


class TokenKeyError(ValueError):
    """`TOUCHPOINT_TOKEN_KEY` is missing or not a key; the message says how to make one."""


def token_cipher(key: str) -> Fernet:
    """The cipher for tokens at rest, from a Fernet key (32 url-safe base64-encoded bytes)."""
    hint = ("make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'")
    if not key.strip():
        raise TokenKeyError(f"TOUCHPOINT_TOKEN_KEY: required for Slack installs; {hint}")
    try:
        return Fernet(key.strip().encode())
    except (ValueError, binascii.Error):
        raise TokenKeyError("TOUCHPOINT_TOKEN_KEY: must be 32 url-safe base64-encoded bytes "
                            f"(44 characters); {hint}") from None


def team_key(enterprise_id: str | None, team_id: str | None,
             is_enterprise_install: bool | None = False) -> str:
    """`E0123:T0456` for a workspace (`-:T0456` outside Enterprise Grid), `E0123:-` for an
    org-wide install. Everything kept per workspace is keyed by this."""
    team = ORG if is_enterprise_install or not team_id else team_id
    return f"{enterprise_id or '-'}:{team}"


class Records(Protocol):
    """A hash per workspace: Redis, or a dict in this process."""

    async def get(self, key: str, name: str) -> bytes | None: ...

    async def put(self, key: str, name: str, value: bytes) -> None: ...

    async def remove(self, key: str, *names: str) -> None: ...

    async def drop(self, key: str) -> None: ...


class RedisRecords:
    def __init__(self, client: Redis | RedisCluster, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}slack:installs:{key}"

    async def get(self, key: str, name: str) -> bytes | None:
        found = await self._client.hget(self._key(key), name)
        return found if isinstance(found, bytes) else None

    async def put(self, key: str, name: str, value: bytes) -> None:
        await self._client.hset(self._key(key), name, value)

    async def remove(self, key: str, *names: str) -> None:
        await self._client.hdel(self._key(key), *names)

    async def drop(self, key: str) -> None:
        await self._client.delete(self._key(key))


class MemoryRecords:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}

    async def get(self, key: str, name: str) -> bytes | None:
        return self._data.get(key, {}).get(name)

    async def put(self, key: str, name: str, value: bytes) -> None:
        self._data.setdefault(key, {})[name] = value

    async def remove(self, key: str, *names: str) -> None:
        record = self._data.get(key, {})
        for name in names:
            record.pop(name, None)

    async def drop(self, key: str) -> None:
        self._data.pop(key, None)


class InstallationStore(AsyncInstallationStore):
    """bolt's installation store over `Records`, every value encrypted.

    A record that cannot be decrypted (the key changed) or read is logged and
    treated as absent: that workspace needs the app installed again.
    """

    def __init__(self, records: Records, cipher: Fernet) -> None:
        self._records = records
        self._cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        key = team_key(installation.enterprise_id, installation.team_id,
                       installation.is_enterprise_install)
        sealed = self._seal(installation.__dict__)
        await self._records.put(key, LATEST, sealed)
        if installation.user_id:
            await self._records.put(key, f"user:{installation.user_id}", sealed)
        if installation.bot_token:
            await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        if not bot.bot_token:
            return
        key = team_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        await self._records.put(key, BOT, self._seal(bot.__dict__))

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        for key in _keys(enterprise_id, team_id, is_enterprise_install):
            data = await self._open(key, BOT)
            if data is not None:
                return Bot(**data)
        return None

    async def async_find_installation(
            self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
            is_enterprise_install: bool | None = False) -> Installation | None:
        name = f"user:{user_id}" if user_id else LATEST
        for key in _keys(enterprise_id, team_id, is_enterprise_install):
            data = await self._open(key, name)
            if data is not None:
                return Installation(**data)
        return None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._records.remove(team_key(enterprise_id, team_id), BOT)

    async def async_delete_installation(self, *, enterprise_id: str | None,
                                        team_id: str | None,
                                        user_id: str | None = None) -> None:
        key = team_key(enterprise_id, team_id)
        if user_id:
            await self._records.remove(key, f"user:{user_id}")
        else:
            await self._records.drop(key)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._records.drop(team_key(enterprise_id, team_id))

    def _seal(self, data: dict[str, Any]) -> bytes:
        return self._cipher.encrypt(json.dumps(data).encode())

    async def _open(self, key: str, name: str) -> dict[str, Any] | None:
        sealed = await self._records.get(key, name)
        if sealed is None:
            return None
        try:
            data = json.loads(self._cipher.decrypt(sealed))
        except (InvalidToken, ValueError):
            log.error("slack: the installation of %s cannot be read with TOUCHPOINT_TOKEN_KEY "
                      "(was the key changed?); install the app to that workspace again", key)
            return None
        return data if isinstance(data, dict) else None


def _keys(enterprise_id: str | None, team_id: str | None,
          is_enterprise_install: bool | None) -> list[str]:
    """Where a workspace's install may be: its own, then its organisation's org-wide one."""
    own = team_key(enterprise_id, team_id, is_enterprise_install)
    org = team_key(enterprise_id, None, True)
    return [own, org] if enterprise_id and own != org else [own]


class StateStore(AsyncOAuthStateStore):
    """OAuth `state` values, each good once and for `expiration` seconds.

    In Redis (`SET ... EX`, taken with `GETDEL`), so the instance that answers
    Slack's redirect need not be the one that started the install; a state
    taken once, forged or expired is refused.
    """

    def __init__(self, client: Redis | RedisCluster | None, prefix: str,
                 expiration: int = 600, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._prefix = prefix
        self.expiration = expiration
        self._clock = clock
        self._issued: dict[str, float] = {}

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        if self._client is not None:
            await self._client.set(self._key(state), b"1", ex=self.expiration)
        else:
            now = self._clock()
            self._issued = {s: t for s, t in self._issued.items() if t > now}
            self._issued[state] = now + self.expiration
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 128:
            return False
        if self._client is not None:
            return await self._client.getdel(self._key(state)) is not None
        until = self._issued.pop(state, None)
        return until is not None and until > self._clock()

    def _key(self, state: str) -> str:
        return f"{self._prefix}slack:oauth-state:{state}"


def parse_team_key(key: str) -> tuple[str | None, str | None, bool]:
    """`team_key`'s parts again: enterprise id, team id, whether the install is org-wide."""
    enterprise, _, team = key.partition(":")
    org = team == ORG
    return (None if enterprise in ("", "-") else enterprise,
            None if org or not team else team, org)
