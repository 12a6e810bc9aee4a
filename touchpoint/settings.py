"""Every setting Touchpoint reads from the environment, checked in one place.

A typo in a deployment's environment should stop the process at start with a
message naming the variable, not surface as a confusing failure an hour later.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import parse_qs, unquote, urlparse

from touchpoint import shipped
from touchpoint.call_signatures import load_public_key, webhook_key
from touchpoint.redis_settings import redis_topology
from touchpoint.slack_install_settings import SlackInstall, slack_install

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_CERT_REQS = ("none", "optional", "required")
REDIS_TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
TEAMS_APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
TEAMS_SERVICE_URLS = (r"^https://(smba\.trafficmanager\.net|[a-z0-9.-]+\.botframework\.com"
                      r"|[a-z0-9.-]+\.botframework\.azure\.us|[a-z0-9.-]+\.teams\.microsoft\.com"
                      r"|[a-z0-9.-]+\.teams\.microsoft\.us)(:443)?/")
"""Teams' and the Bot Framework's connector hosts, and nothing anyone else can register."""
TEAMS_OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TEAMS_DEV_PREFIX = "teams-dev:"
"""Added to the Redis key prefix in Teams dev mode, so it never shares a production's keys."""
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_FLAGS = {"": False, "0": False, "false": False, "no": False, "off": False,
          "1": True, "true": True, "yes": True, "on": True}


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    playbooks: Path = Path("playbooks")
    playbooks_origin: str = "./playbooks"
    """Why `playbooks` is that folder: `TOUCHPOINT_PLAYBOOKS`, `./playbooks`, or `shipped with
    Touchpoint` (no setting and no ./playbooks here), so a command can say which it uses."""
    log_level: str = "INFO"
    log_text: bool = False
    """Let message and customer text into the log (query strings, libraries' DEBUG bodies)."""
    nudge_cooldown: float = 6 * 3600.0
    port: int = 3000
    slack_bot_token: str = field(default="", repr=False)
    """Empty: Slack is off."""
    slack_signing_secret: str = field(default="", repr=False)
    """Verifies `POST /slack/events`; without it Slack runs over Socket Mode only."""
    slack_app_token: str = field(default="", repr=False)
    """Set: Slack also (or, with `serve --socket-mode`, only) connects through Socket Mode."""
    slack_api_url: str = "https://slack.com/api/"
    slack_install: SlackInstall | None = None
    """Set (`SLACK_CLIENT_ID`...): installed through OAuth in many workspaces, no bot token."""
    redis_url: str = ""
    """Empty: state lives in this process (`MemoryStore`); set it to share state."""
    redis_prefix: str = "touchpoint:"
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    """Set: the primary is found through these sentinels (`REDIS_URL` gives its options)."""
    redis_sentinel_service: str = ""
    redis_cluster: bool = False
    """`REDIS_URL` is any node of a Redis Cluster."""
    microsoft_app_id: str = ""
    """Empty: Teams is off (unless `teams_dev`)."""
    microsoft_app_password: str = field(default="", repr=False)
    microsoft_app_type: str = "SingleTenant"
    """New multi-tenant bot registrations are deprecated; `SingleTenant` needs the tenant id."""
    microsoft_app_tenant_id: str = ""
    teams_dev: bool = False
    """Unauthenticated Teams endpoint for local tools and tests; loopback callers only."""
    teams_tenants: tuple[str, ...] = ()
    """Tenant ids whose activities are served; empty: the app's own tenant (single tenant)."""
    teams_service_urls: str = TEAMS_SERVICE_URLS
    """The serviceUrls the bot posts to (a regular expression): Microsoft's connector hosts."""
    teams_openid_url: str = TEAMS_OPENID_URL
    """Where the Bot Framework's token signing keys are published."""
    admins: tuple[str, ...] = ()
    """User ids (`U0123`, `slack:U0123`, `teams:<aad id>`) who may reload and read stats."""
    nudge_switchers: tuple[str, ...] = ()
    """Who besides the admins may switch a channel's nudges; empty: anyone in the channel."""
    admin_channel: str = ""
    """`slack:<channel id>` or `teams:<conversation id>`: where rejected playbooks are reported."""
    watch_interval: float = 2.0
    """Seconds between two looks at the playbook folder for changes; 0: no watching."""
    playbooks_git: str = field(default="", repr=False)
    """A repository of playbooks to follow (URL or path); may hold a token, so never shown."""
    playbooks_branch: str = "main"
    playbooks_git_path: str = ""
    """The playbook folder inside that repository; empty: its top level."""
    playbooks_git_interval: float = 300.0
    """Seconds between two fetches; 0: only on the webhook, SIGHUP and /touchpoint reload."""
    playbooks_git_cache: Path = Path()
    """Where the repository is fetched to; empty: a folder per URL and branch in the temp dir."""
    playbooks_git_max_mb: float = 50.0
    """The most a commit's checkout may take, in MB; a larger commit is refused."""
    webhook_secret: str = field(default="", repr=False)
    """Verifies `POST /hooks/call-ended`, and `/hooks/playbooks-updated` when
    `git_webhook_secret` is not set (HMAC-SHA256 of the body)."""
    git_webhook_secret: str = field(default="", repr=False)
    """Verifies `POST /hooks/playbooks-updated` (GitHub's X-Hub-Signature-256)."""
    prompt_grace: float = 7200.0
    """Seconds after its time within which a daily prompt missed while down is still posted."""
    prompt_rate: float = 4.0
    """Daily-prompt posts per second to one workspace, shared by every instance."""
    prompt_lease: float = 60.0
    """Seconds an instance holds a channel's daily post before another may take over."""
    questions_days: float = 90.0
    """Days an unanswered question, and an answer to "Not helpful" (both scrubbed, for the
    manager page and `touchpoint suggest`), is kept at most."""
    admin_token: str = field(default="", repr=False)
    """Opens the manager pages to whoever signs in with it; empty: `serve` does not serve them,
    `preview` serves a browser on its own machine."""
    header_timeout: float = 20.0
    """Seconds a client has to send a request's headers (and an idle connection is kept)."""
    body_timeout: float = 15.0
    """Seconds a client has to send a request's body."""
    body_reads: int = 32
    """Request bodies over 64 KiB read at once; more wait (within `body_timeout`) for a turn."""
    call_webhook_secret: str = field(default="", repr=False)
    """Verifies `POST /hooks/call-ended` (Standard Webhooks, `whsec_...`); empty: falls back to
    `webhook_secret`."""
    webhook_legacy: bool = False
    """Also accept the old body-only `X-Touchpoint-Signature` on `/hooks/call-ended`."""
    gong_public_key: str = field(default="", repr=False)
    """The Gong rule's public key (PEM), for its signed JWT header; empty: no JWT check."""
    gong_url_key: str = field(default="", repr=False)
    """The Gong rule's "URL includes key" token (`/hooks/gong?key=...`)."""
    zoom_secret: str = field(default="", repr=False)
    """The Zoom app's secret token; empty: no `/hooks/zoom` route."""
    call_lease: float = 60.0
    """Seconds an instance holds a call's nudge before another may take it over."""
    call_retry_max: float = 300.0
    """The longest pause between two tries of a call nudge Slack or Teams did not take."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable; raises `SettingsError` listing all problems."""
        problems: list[str] = []
        defaults = cls()

        def text(name: str, default: str) -> str:
            return env.get(name, default).strip()

        def number(name: str, default: float, low: float, high: float) -> float:
            return _number(problems, name, env.get(name), default, low, high)

        log_level = text("TOUCHPOINT_LOG_LEVEL", defaults.log_level).upper()
        if log_level not in LOG_LEVELS:
            problems.append(f"TOUCHPOINT_LOG_LEVEL={log_level!r}: must be one of "
                            + ", ".join(LOG_LEVELS))
        raw_log_text = text("TOUCHPOINT_LOG_TEXT", "").lower()
        log_text = _FLAGS.get(raw_log_text)
        if log_text is None:
            problems.append(f"TOUCHPOINT_LOG_TEXT={raw_log_text!r}: must be 1 or 0")
            log_text = False
        port = number("PORT", defaults.port, 1, 65535)
        if port != int(port):
            problems.append(f"PORT={env.get('PORT')!r}: must be a whole number")
        bot_token = text("SLACK_BOT_TOKEN", "")
        if bot_token and not bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
        app_token = text("SLACK_APP_TOKEN", "")
        if app_token and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
        api_url = text("SLACK_API_URL", defaults.slack_api_url)
        parsed = urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(f"SLACK_API_URL={api_url!r}: must be an http(s) URL")
        signing_secret = text("SLACK_SIGNING_SECRET", "")
        install = slack_install(env, problems)
        problems.extend(_slack_problems(bot_token, signing_secret, app_token,
                                        installed=install is not None))
        redis_url = text("REDIS_URL", "")
        if redis_url:
            problems.extend(_redis_url_problems(redis_url))
        redis_prefix = env.get("TOUCHPOINT_REDIS_PREFIX", defaults.redis_prefix)
        if not redis_prefix or len(redis_prefix) > 100 or any(
                c.isspace() or not c.isprintable() for c in redis_prefix):
            problems.append(f"TOUCHPOINT_REDIS_PREFIX={redis_prefix!r}: must be 1 to 100 "
                            "printable characters without spaces")
        topology = redis_topology(env, problems, redis_url, redis_prefix)
        body_reads = number("TOUCHPOINT_BODY_READS", defaults.body_reads, 1, 10000)
        if body_reads != int(body_reads):
            problems.append(f"TOUCHPOINT_BODY_READS={env.get('TOUCHPOINT_BODY_READS')!r}: must "
                            "be a whole number")
        teams = _teams_settings(env, problems)
        if teams["teams_dev"]:
            redis_prefix += TEAMS_DEV_PREFIX
        live = _live_settings(env, problems, defaults)
        playbooks, origin = shipped.playbooks(text("TOUCHPOINT_PLAYBOOKS", ""), Path.cwd())
        settings = cls(
            playbooks=playbooks,
            playbooks_origin=origin,
            log_level=log_level,
            log_text=log_text,
            nudge_cooldown=number("TOUCHPOINT_NUDGE_COOLDOWN", defaults.nudge_cooldown,
                                  0, 30 * 86400),
            port=int(port),
            slack_bot_token=bot_token,
            slack_signing_secret=signing_secret,
            slack_app_token=app_token,
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            slack_install=install,
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            **topology,
            **teams,
            **live,
            prompt_grace=number("TOUCHPOINT_PROMPT_GRACE", defaults.prompt_grace, 60, 86400),
            prompt_rate=number("TOUCHPOINT_PROMPT_RATE", defaults.prompt_rate, 0.01, 1000),
            prompt_lease=number("TOUCHPOINT_PROMPT_LEASE", defaults.prompt_lease, 1, 3600),
            questions_days=number("TOUCHPOINT_QUESTIONS_DAYS", defaults.questions_days, 7, 420),
            admin_token=_admin_token(env, problems),
            header_timeout=number("TOUCHPOINT_HEADER_TIMEOUT", defaults.header_timeout, 1, 3600),
            body_timeout=number("TOUCHPOINT_BODY_TIMEOUT", defaults.body_timeout, 1, 3600),
            body_reads=int(body_reads),
            **_call_settings(env, problems, defaults),
        )
        if problems:
            raise SettingsError(problems)
        return settings

    @property
    def uses_redis(self) -> bool:
        """Whether state is shared in Redis (a URL, or sentinels to find it)."""
        return bool(self.redis_url or self.redis_sentinels)


class _Teams(TypedDict):
    microsoft_app_id: str
    microsoft_app_password: str
    microsoft_app_type: str
    microsoft_app_tenant_id: str
    teams_dev: bool
    teams_tenants: tuple[str, ...]
    teams_service_urls: str
    teams_openid_url: str


def _teams_settings(env: Mapping[str, str], problems: list[str]) -> _Teams:
    """The Bot Framework variables (their Azure names), checked together: they depend on each other.

    Secrets are never echoed into the problems.
    """
    app_id = env.get("MicrosoftAppId", "").strip()
    password = env.get("MicrosoftAppPassword", "").strip()
    tenant = env.get("MicrosoftAppTenantId", "").strip()
    raw_type = env.get("MicrosoftAppType", "").strip() or "SingleTenant"
    app_type = next((t for t in TEAMS_APP_TYPES if t.lower() == raw_type.lower()), "")
    raw_dev = env.get("TOUCHPOINT_TEAMS_DEV", "").strip().lower()
    dev = _FLAGS.get(raw_dev)
    if dev is None:
        problems.append(f"TOUCHPOINT_TEAMS_DEV={raw_dev!r}: must be 1 or 0")
        dev = False
    if not app_type:
        problems.append(f"MicrosoftAppType={raw_type!r}: must be one of "
                        + ", ".join(TEAMS_APP_TYPES))
    if app_id and not _GUID.match(app_id):
        problems.append(f"MicrosoftAppId={app_id!r}: must be the bot's app id, a GUID like "
                        "00000000-0000-0000-0000-000000000000")
    if tenant and not (_GUID.match(tenant) or _TENANT_DOMAIN.match(tenant)):
        problems.append(f"MicrosoftAppTenantId={tenant!r}: must be a tenant GUID or domain")
    if not app_id:
        if password or tenant:
            problems.append("MicrosoftAppPassword or MicrosoftAppTenantId is set but "
                            "MicrosoftAppId is not: set the app id too, or remove them")
    elif dev:
        problems.append("TOUCHPOINT_TEAMS_DEV=1 turns authentication off and cannot be "
                        "combined with MicrosoftAppId: unset one of them")
    elif app_type in ("MultiTenant", "SingleTenant") and not password:
        problems.append(f"MicrosoftAppPassword: required with MicrosoftAppId for a "
                        f"{app_type} bot (the client secret of the bot's app registration)")
    if app_id and app_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
        problems.append(f"MicrosoftAppTenantId: required for MicrosoftAppType={app_type} "
                        "(the default; set MicrosoftAppType=MultiTenant for a multi-tenant "
                        "registration)")
    tenants = tuple(t.lower() for t in env.get("TOUCHPOINT_TEAMS_TENANTS", "")
                    .replace(",", " ").split())
    for bad in [t for t in tenants if not _GUID.match(t)]:
        problems.append(f"TOUCHPOINT_TEAMS_TENANTS: {bad!r} is not a tenant id (a GUID)")
    if (app_id and app_type in ("SingleTenant", "UserAssignedMSI") and tenant
            and not _GUID.match(tenant) and not tenants):
        problems.append("TOUCHPOINT_TEAMS_TENANTS: required when MicrosoftAppTenantId is a "
                        "domain: set it to your tenant's id (a GUID), which Teams sends")
    service_urls = env.get("TOUCHPOINT_TEAMS_SERVICE_URLS", "").strip() or TEAMS_SERVICE_URLS
    try:
        re.compile(service_urls)
    except re.error as exc:
        problems.append(f"TOUCHPOINT_TEAMS_SERVICE_URLS: not a regular expression ({exc})")
    openid_url = env.get("TOUCHPOINT_TEAMS_OPENID_URL", "").strip() or TEAMS_OPENID_URL
    parsed = urlparse(openid_url)
    if not parsed.netloc or not (parsed.scheme == "https" or (
            parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1"))):
        problems.append(f"TOUCHPOINT_TEAMS_OPENID_URL={openid_url!r}: must be an https:// URL "
                        "(http:// only on this machine, for tests)")
    return {
        "microsoft_app_id": app_id,
        "microsoft_app_password": password,
        "microsoft_app_type": app_type or "SingleTenant",
        "microsoft_app_tenant_id": tenant,
        "teams_dev": dev,
        "teams_tenants": tenants,
        "teams_service_urls": service_urls,
        "teams_openid_url": openid_url,
    }


class _Live(TypedDict):
    admins: tuple[str, ...]
    nudge_switchers: tuple[str, ...]
    admin_channel: str
    watch_interval: float
    playbooks_git: str
    playbooks_branch: str
    playbooks_git_path: str
    playbooks_git_interval: float
    playbooks_git_cache: Path
    playbooks_git_max_mb: float
    webhook_secret: str
    git_webhook_secret: str


_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
_GIT_URL = re.compile(r"^(https?|ssh|git|file)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")
_ADMIN = re.compile(r"^((slack|teams):)?[\w:@.-]+$")


def _number(problems: list[str], name: str, raw: str | None, default: float, low: float,
            high: float, what: str = "a number") -> float:
    """The variable `name`'s value `raw` as a number from `low` to `high`; `default` when it is
    unset or blank, or (with a problem) when it is not such a number."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        problems.append(f"{name}={raw!r}: must be {what} from {low:g} to {high:g}")
        return default
    return value


def branch_digest(url: str, branch: str) -> str:
    """A short name for one branch of one repository (its cache folder, its shared commit)."""
    return hashlib.sha256(f"{url}#{branch}".encode()).hexdigest()[:12]


def _user_ids(env: Mapping[str, str], name: str, problems: list[str]) -> tuple[str, ...]:
    ids = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    for user in ids:
        if not _ADMIN.match(user):
            problems.append(f"{name}: {user!r} is not a user id (e.g. U0123ABCD, "
                            "slack:U0123ABCD or teams:<Azure AD object id>, comma-separated)")
    return ids


def _live_settings(env: Mapping[str, str], problems: list[str], defaults: Settings) -> _Live:
    """Admins, folder watching and following a git repository, checked together."""

    def seconds(name: str, default: float, high: float) -> float:
        return _number(problems, name, env.get(name, "").strip(), default, 0, high,
                       "a number of seconds")

    admins = _user_ids(env, "TOUCHPOINT_ADMINS", problems)
    switchers = _user_ids(env, "TOUCHPOINT_NUDGE_SWITCHERS", problems)
    channel = env.get("TOUCHPOINT_ADMIN_CHANNEL", "").strip()
    if channel and not re.match(r"^(slack|teams):\S+$", channel):
        problems.append(f"TOUCHPOINT_ADMIN_CHANNEL={channel!r}: must be slack:<channel id> or "
                        "teams:<conversation id>")
    git = env.get("TOUCHPOINT_PLAYBOOKS_GIT", "").strip()
    url_like = re.match(r"^[A-Za-z][\w+.-]*://", git) is not None
    if git and (git.startswith("-") or "::" in git or any(c.isspace() for c in git)
                or (url_like and not _GIT_URL.match(git))):
        problems.append("TOUCHPOINT_PLAYBOOKS_GIT: must be a repository URL (https://, ssh://, "
                        "git://, file://, user@host:path) or a local path")
    branch = env.get("TOUCHPOINT_PLAYBOOKS_BRANCH", "").strip() or "main"
    if not _BRANCH.match(branch) or branch.endswith(".lock"):
        problems.append(f"TOUCHPOINT_PLAYBOOKS_BRANCH={branch!r}: must be a branch name")
    path = env.get("TOUCHPOINT_PLAYBOOKS_GIT_PATH", "").strip().strip("/")
    if path in (".", "./"):
        path = ""
    if path.startswith("-") or ".." in path.split("/") or "\\" in path:
        problems.append(f"TOUCHPOINT_PLAYBOOKS_GIT_PATH={path!r}: must be a folder inside the "
                        "repository, e.g. playbooks")
    cache = env.get("TOUCHPOINT_PLAYBOOKS_GIT_CACHE", "").strip()
    return {
        "admins": admins,
        "nudge_switchers": switchers,
        "admin_channel": channel,
        "watch_interval": seconds("TOUCHPOINT_WATCH_INTERVAL", defaults.watch_interval, 3600),
        "playbooks_git": git,
        "playbooks_branch": branch,
        "playbooks_git_path": path,
        "playbooks_git_interval": seconds("TOUCHPOINT_PLAYBOOKS_GIT_INTERVAL",
                                          defaults.playbooks_git_interval, 86400),
        "playbooks_git_cache": Path(cache) if cache else
        Path(tempfile.gettempdir()) / f"touchpoint-playbooks-{branch_digest(git, branch)}",
        "playbooks_git_max_mb": _number(problems, "TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB",
                                        env.get("TOUCHPOINT_PLAYBOOKS_GIT_MAX_MB"),
                                        defaults.playbooks_git_max_mb, 1, 10_000,
                                        "a number of megabytes"),
        "webhook_secret": _secret(env, "TOUCHPOINT_WEBHOOK_SECRET", problems),
        "git_webhook_secret": _secret(env, "TOUCHPOINT_GIT_WEBHOOK_SECRET", problems),
    }


MIN_TOKEN = 16
MIN_SECRET = 16
"""Characters a shared secret needs at least, so it cannot be guessed (Slack's have 32)."""


def _secret(env: Mapping[str, str], name: str, problems: list[str]) -> str:
    """A webhook secret: unset, or long enough. Never echoed into the problems."""
    secret = env.get(name, "").strip()
    if secret and len(secret) < MIN_SECRET:
        problems.append(f"{name}: must be at least {MIN_SECRET} characters (e.g. the output "
                        "of openssl rand -hex 32)")
    return secret


class _Calls(TypedDict):
    call_webhook_secret: str
    webhook_legacy: bool
    gong_public_key: str
    gong_url_key: str
    zoom_secret: str
    call_lease: float
    call_retry_max: float


def _call_settings(env: Mapping[str, str], problems: list[str], defaults: Settings) -> _Calls:
    """The senders of call nudges: Touchpoint's own hook, Gong, Zoom.

    Secrets and keys are never echoed into the problems.
    """
    secret = env.get("TOUCHPOINT_CALL_WEBHOOK_SECRET", "").strip()
    if secret:
        try:
            key = webhook_key(secret) if secret.startswith("whsec_") else b""
        except ValueError:
            key = b""
        if len(key) < MIN_TOKEN:
            problems.append(f"TOUCHPOINT_CALL_WEBHOOK_SECRET: must be whsec_ followed by the "
                            f"base64 of at least {MIN_TOKEN} random bytes (e.g. whsec_$(openssl "
                            "rand -base64 32))")
    raw_legacy = env.get("TOUCHPOINT_WEBHOOK_LEGACY", "").strip().lower()
    legacy = _FLAGS.get(raw_legacy)
    if legacy is None:
        problems.append(f"TOUCHPOINT_WEBHOOK_LEGACY={raw_legacy!r}: must be 1 or 0")
    gong_key = env.get("TOUCHPOINT_GONG_PUBLIC_KEY", "").strip()
    if gong_key and "-----BEGIN" not in gong_key and len(gong_key) < 200:
        path = Path(gong_key)
        try:
            gong_key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"TOUCHPOINT_GONG_PUBLIC_KEY: neither a PEM key nor a readable file "
                            f"({type(exc).__name__})")
            gong_key = ""
    if gong_key:
        try:
            load_public_key(gong_key)
        except ValueError:
            problems.append("TOUCHPOINT_GONG_PUBLIC_KEY: not an RSA public key (copy it from the "
                            "Gong rule's Show public key, or give the path of a PEM file)")
    url_key = env.get("TOUCHPOINT_GONG_URL_KEY", "").strip()
    if url_key and not (MIN_TOKEN <= len(url_key) <= 256 and re.match(r"^[\w.~-]+$", url_key)):
        problems.append(f"TOUCHPOINT_GONG_URL_KEY: must be {MIN_TOKEN} to 256 letters, digits, "
                        "'-', '_', '.' or '~' (e.g. the output of openssl rand -hex 32)")
    zoom = env.get("TOUCHPOINT_ZOOM_SECRET", "").strip()
    if zoom and (len(zoom) < MIN_TOKEN or any(c.isspace() for c in zoom)):
        problems.append(f"TOUCHPOINT_ZOOM_SECRET: must be the app's Secret Token (at least "
                        f"{MIN_TOKEN} characters, no spaces)")

    def seconds(name: str, default: float, low: float, high: float) -> float:
        return _number(problems, name, env.get(name), default, low, high, "a number of seconds")

    return {
        "call_webhook_secret": secret,
        "webhook_legacy": bool(legacy),
        "gong_public_key": gong_key,
        "gong_url_key": url_key,
        "zoom_secret": zoom,
        "call_lease": seconds("TOUCHPOINT_CALL_LEASE", defaults.call_lease, 1, 3600),
        "call_retry_max": seconds("TOUCHPOINT_CALL_RETRY_MAX", defaults.call_retry_max, 0.1,
                                  86400),
    }


def _admin_token(env: Mapping[str, str], problems: list[str]) -> str:
    """TOUCHPOINT_ADMIN_TOKEN: long enough not to be guessed, and typeable in the login form.

    The token is never echoed into the problems.
    """
    token = env.get("TOUCHPOINT_ADMIN_TOKEN", "").strip()
    if token and not (MIN_TOKEN <= len(token) <= 512 and token.isascii()
                      and token.isprintable() and " " not in token):
        problems.append(f"TOUCHPOINT_ADMIN_TOKEN: must be {MIN_TOKEN} to 512 printable ASCII "
                        "characters without spaces (e.g. the output of openssl rand -hex 32)")
    return token


def _slack_problems(bot_token: str, signing_secret: str, app_token: str, *,
                    installed: bool = False) -> list[str]:
    """Slack's three credentials only work in certain combinations; say which one is missing.

    Secrets are never echoed into the problems.
    """
    problems = []
    if signing_secret.startswith(("xox", "xapp-")) or any(c.isspace() for c in signing_secret):
        problems.append("SLACK_SIGNING_SECRET: must be the app's Signing Secret (Basic "
                        "Information > App Credentials), not a token")
    elif signing_secret and len(signing_secret) < MIN_SECRET:
        problems.append(f"SLACK_SIGNING_SECRET: must be at least {MIN_SECRET} characters (the "
                        "app's Signing Secret has 32)")
    if not bot_token and not installed and (signing_secret or app_token):
        problems.append("SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN "
                        "is set (OAuth & Permissions > Bot User OAuth Token, xoxb-...)")
    if bot_token and not signing_secret and not app_token:
        problems.append("SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN to verify requests "
                        "to /slack/events (or set SLACK_APP_TOKEN to use Socket Mode instead)")
    return problems


def _redis_url_problems(url: str) -> list[str]:
    """What is wrong with a REDIS_URL, without echoing it: it may hold a password."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme not in REDIS_SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        return [f"REDIS_URL: must start with redis://, rediss:// or unix:// (got {shown})"]
    if scheme == "unix":
        if not parsed.path:
            return ["REDIS_URL: unix:// needs a socket path"]
        return _redis_option_problems(url, scheme)
    try:
        port = parsed.port
    except ValueError:
        return ["REDIS_URL: the port must be a number from 1 to 65535"]
    if not parsed.hostname:
        return [f"REDIS_URL: {scheme}:// needs a host, e.g. {scheme}://localhost:6379/0"]
    if port == 0:
        return ["REDIS_URL: the port must be a number from 1 to 65535"]
    database = parsed.path.strip("/")
    if database and not database.isdigit():
        return [f"REDIS_URL: the path must be a database number, e.g. {scheme}://host:6379/0"]
    return _redis_option_problems(url, scheme)


def _redis_option_problems(url: str, scheme: str) -> list[str]:
    """The URL's `?options`, read as the redis client reads them.

    redis-py hands every option to its connection as a keyword argument, so an
    unknown or misplaced one (`ssl_cert_reqs` on a plain `redis://` URL) would
    only fail at the first command, and a missing CA file would look like an
    unreachable Redis. Flags and file paths are echoed; other values are not,
    since a query may hold a password.
    """
    options = {name: unquote(values[0]) for name, values in parse_qs(urlparse(url).query).items()}
    problems = []
    tls_options = sorted(name for name in options if name.startswith("ssl"))
    if tls_options and scheme != "rediss":
        problems.append(f"REDIS_URL: TLS options ({', '.join(tls_options)}) need a rediss:// "
                        "URL")
    cert_reqs = options.get("ssl_cert_reqs")
    if cert_reqs is not None and cert_reqs not in REDIS_CERT_REQS:
        problems.append(f"REDIS_URL: ssl_cert_reqs={cert_reqs!r}: must be one of "
                        + ", ".join(REDIS_CERT_REQS))
    for name in REDIS_TLS_FILES:
        if name in options and not Path(options[name]).is_file():
            problems.append(f"REDIS_URL: {name}={options[name]!r}: no such file")
    if "ssl_ca_path" in options and not Path(options["ssl_ca_path"]).is_dir():
        problems.append(f"REDIS_URL: ssl_ca_path={options['ssl_ca_path']!r}: no such folder")
    if problems:
        return problems
    # Imported here: only a deployment with REDIS_URL set needs the client.
    from redis.asyncio import ConnectionPool
    from redis.exceptions import RedisError

    try:
        pool = ConnectionPool.from_url(url)
        pool.connection_class(**pool.connection_kwargs)  # builds a connection, does not connect
    except ValueError as exc:  # e.g. "Invalid value for 'db' in connection URL."; no value
        return [f"REDIS_URL: {exc}"]
    except TypeError as exc:
        found = re.search(r"argument '(\w+)'", str(exc))
        name = found.group(1) if found else "?"
        return [f"REDIS_URL: unknown option {name!r} (redis-py's connection options only)"]
    except RedisError as exc:
        return [f"REDIS_URL: the redis client refuses its options ({type(exc).__name__}: "
                f"{exc})"]
    return []
