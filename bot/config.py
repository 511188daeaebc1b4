"""Settings from environment variables and an optional ``.env`` file.

A missing or malformed setting stops start-up with one line naming the variable and what it
expects (see :func:`load_settings`), never with a traceback.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_LANGUAGES = ("nl", "en")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///gangmaker.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or postgresql+asyncpg://...",
    )
    organisation: str = Field(default="rotterdam", description="slug of the default organisation")
    default_language: str = Field(default="nl", description="language code, e.g. nl")
    timezone: str = Field(default="Europe/Amsterdam", description="IANA time zone")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    host: str = Field(default="127.0.0.1", description="address gangmaker serve listens on")
    port: int = Field(default=8080, ge=1, le=65535, description="port between 1 and 65535")
    sql_echo: bool = Field(default=False, description="true or false")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            # Heroku-style platforms hand out plain postgres:// URLs; use the async driver.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://...")
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in SHIPPED_LANGUAGES:
            raise ValueError(f"expected one of {', '.join(SHIPPED_LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone such as Europe/Amsterdam") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable and what it expects."""
    error = exc.errors()[0]
    name = str(error["loc"][0]).upper() if error["loc"] else "settings"
    field = Settings.model_fields.get(str(error["loc"][0]).lower()) if error["loc"] else None
    expected = field.description if field and field.description else error["msg"]
    message = error["msg"].removeprefix("Value error, ")
    return f"configuration error: {name} is invalid ({message}); expected {expected}"


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        raise SystemExit(2) from None
