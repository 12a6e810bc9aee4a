"""Every setting Touchpoint reads from the environment, in one object checked at once.

A typo in a deployment's environment should stop the process at start with a
message naming the variable, not surface as a confusing failure an hour later.
Each concern's checks live in a module of their own (`slack_settings`,
`teams_settings`, `redis_settings`, `live_settings`, `call_settings`); this one
gathers them, and builds each adapter's own config from the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.slack.config import API_URL as SLACK_API_URL
from adapters.slack.config import SlackConfig
from adapters.teams.config import TeamsConfig
from touchpoint import shipped
from touchpoint.call_settings import call_settings
from touchpoint.env_checks import FLAGS, MIN_TOKEN, number
from touchpoint.live_settings import live_settings
from touchpoint.redis_settings import redis_topology, redis_url_problems
from touchpoint.slack_install_settings import SlackInstall
from touchpoint.slack_settings import slack_settings
from touchpoint.teams_settings import (
    TEAMS_DEV_PREFIX,
    TEAMS_OPENID_URL,
    TEAMS_SERVICE_URLS,
    teams_settings,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
    slack_api_url: str = SLACK_API_URL
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

        def ranged(name: str, default: float, low: float, high: float) -> float:
            return number(problems, name, env.get(name), default, low, high)

        log_level = text("TOUCHPOINT_LOG_LEVEL", defaults.log_level).upper()
        if log_level not in LOG_LEVELS:
            problems.append(f"TOUCHPOINT_LOG_LEVEL={log_level!r}: must be one of "
                            + ", ".join(LOG_LEVELS))
        raw_log_text = text("TOUCHPOINT_LOG_TEXT", "").lower()
        log_text = FLAGS.get(raw_log_text)
        if log_text is None:
            problems.append(f"TOUCHPOINT_LOG_TEXT={raw_log_text!r}: must be 1 or 0")
            log_text = False
        port = ranged("PORT", defaults.port, 1, 65535)
        if port != int(port):
            problems.append(f"PORT={env.get('PORT')!r}: must be a whole number")
        slack = slack_settings(env, problems)
        redis_url = text("REDIS_URL", "")
        if redis_url:
            problems.extend(redis_url_problems(redis_url))
        redis_prefix = env.get("TOUCHPOINT_REDIS_PREFIX", defaults.redis_prefix)
        if not redis_prefix or len(redis_prefix) > 100 or any(
                c.isspace() or not c.isprintable() for c in redis_prefix):
            problems.append(f"TOUCHPOINT_REDIS_PREFIX={redis_prefix!r}: must be 1 to 100 "
                            "printable characters without spaces")
        topology = redis_topology(env, problems, redis_url, redis_prefix)
        body_reads = ranged("TOUCHPOINT_BODY_READS", defaults.body_reads, 1, 10000)
        if body_reads != int(body_reads):
            problems.append(f"TOUCHPOINT_BODY_READS={env.get('TOUCHPOINT_BODY_READS')!r}: must "
                            "be a whole number")
        teams = teams_settings(env, problems)
        if teams["teams_dev"]:
            redis_prefix += TEAMS_DEV_PREFIX
        live = live_settings(env, problems, defaults)
        playbooks, origin = shipped.playbooks(text("TOUCHPOINT_PLAYBOOKS", ""), Path.cwd())
        settings = cls(
            playbooks=playbooks,
            playbooks_origin=origin,
            log_level=log_level,
            log_text=log_text,
            nudge_cooldown=ranged("TOUCHPOINT_NUDGE_COOLDOWN", defaults.nudge_cooldown,
                                  0, 30 * 86400),
            port=int(port),
            **slack,
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            **topology,
            **teams,
            **live,
            prompt_grace=ranged("TOUCHPOINT_PROMPT_GRACE", defaults.prompt_grace, 60, 86400),
            prompt_rate=ranged("TOUCHPOINT_PROMPT_RATE", defaults.prompt_rate, 0.01, 1000),
            prompt_lease=ranged("TOUCHPOINT_PROMPT_LEASE", defaults.prompt_lease, 1, 3600),
            questions_days=ranged("TOUCHPOINT_QUESTIONS_DAYS", defaults.questions_days, 7, 420),
            admin_token=_admin_token(env, problems),
            header_timeout=ranged("TOUCHPOINT_HEADER_TIMEOUT", defaults.header_timeout, 1, 3600),
            body_timeout=ranged("TOUCHPOINT_BODY_TIMEOUT", defaults.body_timeout, 1, 3600),
            body_reads=int(body_reads),
            **call_settings(env, problems, defaults),
        )
        if problems:
            raise SettingsError(problems)
        return settings

    @property
    def uses_redis(self) -> bool:
        """Whether state is shared in Redis (a URL, or sentinels to find it)."""
        return bool(self.redis_url or self.redis_sentinels)

    @property
    def slack(self) -> SlackConfig:
        """What the Slack adapter is given; a proactive post must not outlive its claim."""
        return SlackConfig(bot_token=self.slack_bot_token,
                           signing_secret=self.slack_signing_secret,
                           app_token=self.slack_app_token, api_url=self.slack_api_url,
                           post_timeout=min(SlackConfig.post_timeout, self.prompt_lease / 2))

    @property
    def teams(self) -> TeamsConfig:
        """What the Teams adapter is given."""
        return TeamsConfig(app_id=self.microsoft_app_id, app_password=self.microsoft_app_password,
                           app_type=self.microsoft_app_type,
                           tenant_id=self.microsoft_app_tenant_id, dev=self.teams_dev,
                           tenants=self.teams_tenants, service_urls=self.teams_service_urls,
                           openid_url=self.teams_openid_url)


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
