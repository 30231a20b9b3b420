"""Settings: one TOML file, validated once at start, overridable key by key from the environment.

An environment variable ``BOT_<SECTION>__<KEY>`` replaces one key, for example
``BOT_TELEGRAM__TOKEN`` for ``[telegram] token``. A bad value stops the program with one
line that names the key (see :class:`ConfigError`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.cities import CITIES, parse_city
from bot.pacing import PacingLimits

ENV_PREFIX = "BOT_"
ENV_CONFIG_PATH = "BOT_CONFIG"
DEFAULT_CONFIG_PATH = Path("config.toml")

Language = Literal["zh", "en"]
CATEGORIES = ("policy", "factors", "approval", "payments", "ip", "chain")


class ConfigError(Exception):
    """A configuration problem, worded for the operator: key, value and what is wrong."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(Section):
    token: SecretStr | None = None
    username: str = ""
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: int = Field(default=30, ge=0, le=60)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=40.0, gt=0)
    send_timeout: float = Field(default=5.0, gt=0)
    upload_timeout: float = Field(default=20.0, gt=0)
    connection_pool_size: int = Field(default=256, ge=1, le=10_000)
    max_retry_after_seconds: float = Field(default=60.0, ge=0)


class WebhookSettings(Section):
    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)  # 0: any free port (tests)
    url: str = ""
    path: str = "telegram"
    secret_token: SecretStr | None = None
    keep_update_ids_hours: float = Field(default=48.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)


class MetricsSettings(Section):
    # GET /metrics (Prometheus' text format) beside /healthz on the webhook's server.
    enabled: bool = True
    # A server of their own for /healthz and /metrics (polling mode has no other); None: none.
    listen: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)  # 0: any free port (tests)


class StorageSettings(Section):
    path: Path = Path("data/liaison.sqlite3")
    # A PostgreSQL server instead of the SQLite file (issue 21): "postgresql://user@host/db".
    # Secret: it may carry a password.
    url: SecretStr | None = None
    busy_timeout_ms: int = Field(default=5000, ge=0)
    backup_dir: Path = Path("data/backups")
    backup_interval_hours: float = Field(default=24.0, ge=0)
    backups_kept: int = Field(default=7, ge=1)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("storage.url must be a postgresql:// URL")
        return value

    @property
    def target(self) -> Path | str:
        """What :meth:`storage.db.Database.open` opens: the server's URL, else the file."""
        return self.path if self.url is None else self.url.get_secret_value()

    @property
    def on_server(self) -> bool:
        return self.url is not None


class FailoverSettings(Section):
    """Two bots on one PostgreSQL database, one active and one standby (runtime/standby.py)."""

    # How often a standby tries to take the active's lock, in seconds.
    retry_seconds: float = Field(default=2.0, gt=0, le=60)
    # How often the active checks its lock's connection, and how long a check may take before
    # the connection counts as lost (the active then stops at once), in seconds.
    check_seconds: float = Field(default=1.0, gt=0, le=60)
    check_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # The server ends the lock's session when it has heard no check for this long (a network
    # cut it cannot see), which lets the standby take over; above 2 checks and a time-out.
    session_timeout_seconds: float = Field(default=8.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _the_active_stops_first(self) -> FailoverSettings:
        """The active must notice a lost connection before the server frees its lock."""
        if self.session_timeout_seconds <= 2 * self.check_seconds + self.check_timeout_seconds:
            raise ValueError(
                "failover.session_timeout_seconds must be above 2 × check_seconds +"
                " check_timeout_seconds, so that an active cut off stops before a standby"
                " takes over"
            )
        return self


class AdminSettings(Section):
    telegram_ids: tuple[int, ...] = ()


class LocaleSettings(Section):
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SecuritySettings(Section):
    """Secrets that protect stored data; generated per deployment."""

    hash_key: SecretStr = SecretStr("change-me-in-production")
    invite_ttl_hours: float = Field(default=72.0, gt=0)


class VerificationSettings(Section):
    code_digits: int = Field(default=8, ge=6, le=12)
    code_ttl_minutes: float = Field(default=5.0, gt=0, le=60)
    failures_per_window: int = Field(default=5, ge=1)
    failure_window_minutes: float = Field(default=15.0, gt=0)
    failures_per_day: int = Field(default=10, ge=1)
    cooldown_minutes: float = Field(default=15.0, gt=0)
    global_alert_failures: int = Field(default=50, ge=1)
    global_alert_window_minutes: float = Field(default=10.0, gt=0)
    notice_window_max_hours: float = Field(default=24.0, gt=0)
    telegram_mark: bool = False
    mark_retry_base_seconds: float = Field(default=60.0, gt=0)
    mark_retry_max_hours: float = Field(default=6.0, gt=0)
    mark_calls_per_tick: int = Field(default=20, ge=1, le=500)


class CategoryDeadline(Section):
    acknowledge_days: int = Field(ge=1)
    resolve_days: int = Field(ge=1)


def _default_deadlines() -> dict[str, CategoryDeadline]:
    return {
        category: CategoryDeadline(acknowledge_days=1, resolve_days=15) for category in CATEGORIES
    }


class DeadlineSettings(Section):
    categories: dict[str, CategoryDeadline] = Field(default_factory=_default_deadlines)
    urgent_acknowledge_days: int = Field(default=1, ge=1)
    urgent_resolve_days: int = Field(default=7, ge=1)
    confirm_reminder_days: int = Field(default=3, ge=1)
    auto_close_days: int = Field(default=7, ge=1)
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: dict[str, CategoryDeadline]) -> dict[str, CategoryDeadline]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; use {list(CATEGORIES)}")
        return {**_default_deadlines(), **value}


class QuietHoursSettings(Section):
    start: time = time(21, 0)
    end: time = time(8, 0)
    weekends: bool = False
    digest_time: time = time(8, 30)


class ReminderSettings(Section):
    tick_seconds: float = Field(default=2.0, gt=0, le=60)
    last_day_time: time = time(14, 0)
    batch_size: int = Field(default=200, ge=1)
    send_timeout_seconds: float = Field(default=10.0, gt=0)
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    critical_retry_hours: float = Field(default=6.0, gt=0)
    digest_max_items: int = Field(default=20, ge=1)


class DeliverySettings(Section):
    """The pace of everything the bot sends (bot/pacing.py), under Telegram's limits."""

    global_per_second: float = Field(default=26.0, gt=0, le=30)
    paid_per_second: float = Field(default=920.0, gt=0, le=1000)
    global_cap: int = Field(default=29, ge=1, le=30)
    paid_cap: int = Field(default=990, ge=1, le=1000)
    global_burst: int = Field(default=2, ge=1, le=10)
    private_per_second: float = Field(default=1.0, gt=0, le=5)
    private_burst: int = Field(default=2, ge=1, le=10)
    group_per_minute: float = Field(default=18.0, gt=0, le=60)
    group_burst: int = Field(default=2, ge=1, le=10)
    hold_all_after_chats: int = Field(default=3, ge=1)
    hold_window_seconds: float = Field(default=1.0, gt=0)
    max_wait_seconds: float = Field(default=120.0, gt=0)
    max_in_flight: int = Field(default=16, ge=1, le=256)
    flood_updates_per_second: float = Field(default=2.0, gt=0)
    flood_burst: int = Field(default=10, ge=1)
    flood_quiet_seconds: float = Field(default=10.0, gt=0)
    start_with_bursts_spent: bool = True

    def limits(self) -> PacingLimits:
        return PacingLimits(
            global_per_second=self.global_per_second,
            global_burst=self.global_burst,
            private_per_second=self.private_per_second,
            private_burst=self.private_burst,
            group_per_minute=self.group_per_minute,
            group_burst=self.group_burst,
            hold_all_after_chats=self.hold_all_after_chats,
            hold_window_seconds=self.hold_window_seconds,
            paid_per_second=self.paid_per_second,
            global_cap=self.global_cap,
            paid_cap=self.paid_cap,
            start_spent=self.start_with_bursts_spent,
        )


class BroadcastSettings(Section):
    messages_per_second: float = Field(default=20.0, gt=0, le=30)
    paid: bool = False
    paid_messages_per_second: float = Field(default=900.0, gt=0, le=1000)
    # Ignored since [delivery] paces every chat; still accepted so older configs load.
    per_chat_interval_seconds: float = Field(default=1.0, ge=0)
    max_attempts: int = Field(default=3, ge=1)
    progress_interval_seconds: float = Field(default=2.0, gt=0)
    max_retry_after_seconds: float = Field(default=600.0, gt=0)
    max_in_flight: int = Field(default=8, ge=1, le=100)
    # The in-flight window is max(max_in_flight, rate × send_latency_seconds): enough sends
    # open to keep the pace while each waits for Telegram's answer.
    send_latency_seconds: float = Field(default=0.1, gt=0, le=5)
    # Outcomes are committed in batches at least this often (and before the delivery stops).
    outcome_flush_seconds: float = Field(default=0.1, gt=0, le=5)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    tick_seconds: float = Field(default=5.0, gt=0)


class RoutingRule(Section):
    """Where a request goes when its enterprise has no designated official. A typo would
    silently send everything to the admins' queue, so both keys are checked at start."""

    category: str | None = None
    city: str | None = None  # stored as the city's code, given in any form parse_city takes
    official: str

    @model_validator(mode="before")
    @classmethod
    def _known_category_and_city(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        rule = dict(data)
        name = f"the rule for official {rule.get('official')!r}"
        category = rule.get("category")
        if category is not None and category not in CATEGORIES:
            raise ValueError(
                f"{name}: unknown category {category!r}; use one of {list(CATEGORIES)}"
            )
        city = rule.get("city")
        if city is not None:
            code = parse_city(str(city))
            if code is None:
                codes = [c.code for c in CITIES]
                raise ValueError(
                    f"{name}: unknown city {city!r}; use a code of {codes}"
                    " or the city's Chinese or English name"
                )
            rule["city"] = code
        return rule


class RoutingSettings(Section):
    rules: tuple[RoutingRule, ...] = ()


class RequestSettings(Section):
    page_size: int = Field(default=5, ge=1, le=20)
    thread_page_size: int = Field(default=10, ge=1, le=30)
    max_message_length: int = Field(default=3000, ge=100, le=4000)
    conversation_timeout_seconds: float = Field(default=3600, gt=0)


class RosterSettings(Section):
    # Telegram lets bots download files of at most 20 MB.
    max_file_mb: float = Field(default=5.0, gt=0, le=20)
    max_unpacked_mb: float = Field(default=100.0, gt=0, le=2000)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)


class AuditSettings(Section):
    page_size: int = Field(default=15, ge=1, le=40)


class PrivacySettings(Section):
    """How long working data about people is kept (docs/hardening.md §9)."""

    keep_drafts_days: float = Field(default=30.0, gt=0)
    # At least a day: the per-user daily limit on failed code checks counts the last 24 h.
    keep_throttle_hours: float = Field(default=48.0, ge=24)
    prune_interval_hours: float = Field(default=6.0, ge=0)


class ChartSettings(Section):
    """Charts are drawn with a CJK font; without ``font_path`` the known Debian fonts are used."""

    font_path: Path | None = None
    weeks: int = Field(default=12, ge=2, le=104)

    @field_validator("font_path")
    @classmethod
    def _font_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no font file at {value}")
        return value


class SystemicSettings(Section):
    max_suggestions: int = Field(default=3, ge=1, le=10)
    min_similarity: float = Field(default=0.15, gt=0, le=1)
    max_candidates: int = Field(default=2000, ge=1)
    page_size: int = Field(default=8, ge=1, le=20)


class SandboxSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class Settings(Section):
    telegram: TelegramSettings = TelegramSettings()
    webhook: WebhookSettings = WebhookSettings()
    metrics: MetricsSettings = MetricsSettings()
    storage: StorageSettings = StorageSettings()
    failover: FailoverSettings = FailoverSettings()
    admins: AdminSettings = AdminSettings()
    locale: LocaleSettings = LocaleSettings()
    security: SecuritySettings = SecuritySettings()
    verification: VerificationSettings = VerificationSettings()
    deadlines: DeadlineSettings = DeadlineSettings()
    quiet_hours: QuietHoursSettings = QuietHoursSettings()
    reminders: ReminderSettings = ReminderSettings()
    broadcast: BroadcastSettings = BroadcastSettings()
    delivery: DeliverySettings = DeliverySettings()
    routing: RoutingSettings = RoutingSettings()
    requests: RequestSettings = RequestSettings()
    rosters: RosterSettings = RosterSettings()
    charts: ChartSettings = ChartSettings()
    audit: AuditSettings = AuditSettings()
    privacy: PrivacySettings = PrivacySettings()
    systemic: SystemicSettings = SystemicSettings()
    sandbox: SandboxSettings = SandboxSettings()

    @model_validator(mode="after")
    def _announcements_leave_room(self) -> Settings:
        """Announcements take the spare capacity: their rate must leave some for answers."""
        if self.broadcast.messages_per_second >= self.delivery.global_per_second:
            raise ValueError(
                "broadcast.messages_per_second must be below delivery.global_per_second, "
                "so that answers to users still get through during an announcement"
            )
        return self


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), apply environment overrides, validate."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get(ENV_CONFIG_PATH):
        path = Path(environ[ENV_CONFIG_PATH])
    raw = _read_toml(path) if path is not None else _read_default_toml()
    _apply_env_overrides(raw, environ)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw)) from None


def _read_default_toml() -> dict[str, Any]:
    return _read_toml(DEFAULT_CONFIG_PATH) if DEFAULT_CONFIG_PATH.exists() else {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        target = raw.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = _env_value(value)


def _env_value(value: str) -> Any:
    """Parse a TOML literal (numbers, booleans, arrays); anything else stays a string."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    value: Any = raw
    for part in error["loc"]:
        value = value.get(str(part)) if isinstance(value, Mapping) else None
    shown = "" if value is None or "token" in key or "secret" in key else f" (got {value!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"config key {key}: {message}{shown}"
