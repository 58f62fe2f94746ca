"""Typed settings read once from the environment and `.env`, then passed to whoever needs them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot.pacing import TELEGRAM_LIMITS
from storage.vocabulary import is_time_zone, time_of_day, web_link_problem

DEFAULT_DATABASE_URL = "sqlite:///data/papers-digest.db"
MAX_URL_LENGTH = 2000  # what the source table stores
ARXIV_API_URL = "http://export.arxiv.org/api/query"
ARXIV_MIN_INTERVAL = 3.0  # arXiv's API terms: no more than one request every three seconds
_ARXIV_HOSTS = ("arxiv.org", "export.arxiv.org")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is the one line shown to the operator."""


class Settings(BaseSettings):
    """Every knob of the bot; names match the environment variables in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    webhook_secret_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "Asia/Shanghai"
    default_digest_time: str = "09:00"
    digest_size: int = Field(default=5, ge=1, le=20)
    tick_seconds: float = Field(default=30.0, gt=0, le=3600)
    rate_limit_per_second: float = Field(default=TELEGRAM_LIMITS.per_second, gt=0, le=100_000)
    private_chat_per_second: float = Field(default=TELEGRAM_LIMITS.private_per_second, gt=0, le=10_000)
    private_burst: int = Field(default=TELEGRAM_LIMITS.private_burst, ge=1, le=100)
    group_per_minute: float = Field(default=TELEGRAM_LIMITS.group_per_minute, gt=0, le=100_000)
    paid_broadcast: bool = False
    paid_rate_per_second: float = Field(default=TELEGRAM_LIMITS.paid_per_second, gt=0, le=100_000)
    delivery_concurrency: int = Field(default=32, ge=1, le=1000)
    telegram_connections: int = Field(default=8, ge=1, le=256)
    claim_lease_seconds: float = Field(default=300.0, gt=0, le=86_400)
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=3600)
    heartbeat_timeout_seconds: float = Field(default=30.0, gt=0, le=86_400)
    max_digest_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    fetch_timeout: float = Field(default=20.0, gt=0, le=300)
    digest_sources: Annotated[tuple[str, ...], NoDecode] = ()
    source_poll_minutes: float = Field(default=60.0, ge=0, le=7 * 24 * 60)
    source_retries: int = Field(default=2, ge=0, le=10)
    arxiv_enrichment: bool = True
    arxiv_api_url: str = ARXIV_API_URL
    arxiv_request_interval: float = Field(default=ARXIV_MIN_INTERVAL, gt=0, le=3600)
    arxiv_batch_size: int = Field(default=100, ge=1, le=100)
    log_level: str = "INFO"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        """ADMIN_IDS is a comma-separated list of Telegram user ids."""
        if isinstance(value, str):
            parts = [part for part in re.split(r"[,\s]+", value) if part]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("digest_sources", mode="before")
    @classmethod
    def _parse_sources(cls, value: object) -> object:
        """DIGEST_SOURCES is a comma- or space-separated list of http(s) URLs."""
        if isinstance(value, str):
            value = [part for part in re.split(r"[,\s]+", value) if part]
        if isinstance(value, list | tuple):
            for url in value:
                problem = web_link_problem(str(url), max_length=MAX_URL_LENGTH)
                if problem:
                    raise ValueError(f"{str(url)[:80]!r}: {problem}")
            return tuple(dict.fromkeys(str(url) for url in value))
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        """A URL SQLAlchemy can open; the value is not echoed, since it may hold a password."""
        try:
            dialect = make_url(value).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ValueError("not a database URL (sqlite:///PATH or "
                             "postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME)") from None
        try:
            dialect.import_dbapi()
        except ImportError as error:
            raise ValueError(f"its driver is not installed ({error.name}); use sqlite:/// or "
                             "postgresql+psycopg://") from None
        return value

    @field_validator("arxiv_api_url")
    @classmethod
    def _valid_api_url(cls, value: str) -> str:
        """The arXiv API endpoint must at least be an http(s) URL."""
        problem = web_link_problem(value, max_length=MAX_URL_LENGTH)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _respect_arxiv(self) -> Settings:
        """The real arXiv API gets at most one request every three seconds, whatever the setting says."""
        host = (urlsplit(self.arxiv_api_url).hostname or "").lower()
        if host in _ARXIV_HOSTS and self.arxiv_request_interval < ARXIV_MIN_INTERVAL:
            raise ValueError(f"ARXIV_REQUEST_INTERVAL must be at least {ARXIV_MIN_INTERVAL:g} s for {host} "
                             "(arXiv's API terms)")
        return self

    @model_validator(mode="after")
    def _heartbeat_outlives_beats(self) -> Settings:
        """A live process must never look dead: its heartbeat is renewed well within the timeout."""
        if self.heartbeat_timeout_seconds < 2 * self.heartbeat_seconds:
            raise ValueError("HEARTBEAT_TIMEOUT_SECONDS must be at least twice HEARTBEAT_SECONDS")
        return self

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Refuse a timezone the tz database does not know, at start rather than at delivery."""
        if not is_time_zone(value):
            raise ValueError(f"unknown timezone {value!r} (use Area/City, e.g. Asia/Shanghai)")
        return value

    @field_validator("default_digest_time")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        """HH:MM on a 24-hour clock."""
        if time_of_day(value) is None:
            raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00-23:59)")
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        """One of Python's logging level names."""
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    def require_token(self) -> str:
        """The bot token, or a clear stop when running the bot without one."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise SettingsError("settings: TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
        return self.telegram_bot_token.get_secret_value().strip()


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read the settings once; any problem becomes one SettingsError line naming the variable."""
    try:
        if env_file is not None:
            return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a check across settings names its variables itself
            raise SettingsError(f"settings: {message}") from None
        raise SettingsError(f"settings: {str(first['loc'][0]).upper()}: {message}") from None
