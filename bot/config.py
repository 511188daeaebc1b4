"""Settings from environment variables and an optional ``.env`` file.

A missing or malformed setting stops start-up with one line naming the variable and what it
expects (see :func:`load_settings`), never with a traceback.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_LANGUAGES = ("nl", "en", "tr", "ar", "pl", "bg", "uk", "pt", "pap", "so")

TELEGRAM_API_DEFAULT = "https://api.telegram.org"
# Where `gangmaker serve` takes Telegram's webhook calls.
TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

WHATSAPP_API_DEFAULT = "https://graph.facebook.com"
# Where `gangmaker serve` takes the WhatsApp Cloud API's webhook calls.
WHATSAPP_WEBHOOK_PATH = "/webhooks/whatsapp"


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
    telegram_bot_token: str | None = Field(
        default=None, description="the token from @BotFather: digits, a colon, then characters"
    )
    telegram_api_base: str = Field(
        default=TELEGRAM_API_DEFAULT,
        description="the Bot API server's base URL, e.g. https://api.telegram.org",
    )
    telegram_webhook_url: str | None = Field(
        default=None,
        description=f"the public https URL of this server's {TELEGRAM_WEBHOOK_PATH}",
    )
    telegram_webhook_secret: str | None = Field(
        default=None, description="1-256 characters of A-Z, a-z, 0-9, _ and -"
    )
    # Street invites for neighbours (t.me/<bot>?start=n-<code>) and where their QR/PDF go.
    telegram_bot_username: str | None = Field(
        default=None, description="the bot's Telegram user name, e.g. gangmaker_bot"
    )
    media_dir: str | None = Field(
        default=None, description="a folder for generated files (default: the temp folder)"
    )

    whatsapp_phone_number_id: str | None = Field(
        default=None, description="the Phone Number ID of the WhatsApp Business number (digits)"
    )
    whatsapp_access_token: str | None = Field(
        default=None, description="a system user's access token for the WhatsApp Cloud API"
    )
    whatsapp_app_secret: str | None = Field(
        default=None, description="the Meta app's secret (checks X-Hub-Signature-256)"
    )
    whatsapp_verify_token: str | None = Field(
        default=None, description="any string; Meta sends it back when the webhook is verified"
    )
    whatsapp_api_base: str = Field(
        default=WHATSAPP_API_DEFAULT,
        description="the Graph API's base URL, e.g. https://graph.facebook.com",
    )
    whatsapp_media_dir: str = Field(
        default="media/whatsapp", description="a folder for photos people send on WhatsApp"
    )

    dashboard: bool = Field(
        default=False, description="true or false: serve the leaders' dashboard at /dashboard"
    )
    dashboard_secret_key: str | None = Field(
        default=None, description="at least 32 random characters (signs the dashboard's cookies)"
    )
    dashboard_secure_cookie: bool = Field(
        default=True, description="true (https only) or false (plain http on localhost)"
    )
    dashboard_trusted_proxies: int = Field(
        default=0,
        ge=0,
        le=10,
        description="0 (no proxy: the connection's address) or the number of proxies in front "
        "that add to X-Forwarded-For",
    )

    # The flood limit per chat (bot/conversation/throttle.py): a bucket per chat, per process.
    chat_flood_burst: int = Field(
        default=10, ge=1, le=1000, description="messages one chat may send at once (1-1000)"
    )
    chat_flood_rate: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="messages a second one chat may send after the burst (above 0, up to 100)",
    )

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

    @field_validator(
        "telegram_bot_token", "telegram_webhook_url", "telegram_webhook_secret", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_format(cls, value: str | None) -> str | None:
        if value is not None and not _TOKEN.fullmatch(value.strip()):
            raise ValueError("not a bot token")
        return value.strip() if value else None

    @field_validator("telegram_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.strip():
            return TELEGRAM_API_DEFAULT
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise ValueError("not a URL")
        if parts.scheme != "https" and parts.hostname not in _LOCAL_HOSTS:
            raise ValueError("Telegram only calls https URLs")
        if parts.path in ("", "/"):
            # Only the server was given: the route of `gangmaker serve` is known.
            value = value.rstrip("/") + TELEGRAM_WEBHOOK_PATH
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET.fullmatch(value):
            raise ValueError("wrong length or characters")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        """A webhook needs its URL, its secret and a token; name whichever is missing."""
        url, secret = self.telegram_webhook_url, self.telegram_webhook_secret
        if url and not secret:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET is missing: TELEGRAM_WEBHOOK_URL needs it "
                "(1-256 characters of A-Z, a-z, 0-9, _ and -)"
            )
        if secret and not url:
            raise ValueError(
                "TELEGRAM_WEBHOOK_URL is missing: TELEGRAM_WEBHOOK_SECRET is set, so a webhook "
                "is meant; give its public https URL (or unset the secret for long polling)"
            )
        if url and not self.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is missing: the Telegram webhook needs it")
        return self

    @field_validator(
        "whatsapp_phone_number_id",
        "whatsapp_access_token",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        mode="before",
    )
    @classmethod
    def _whatsapp_empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("whatsapp_phone_number_id")
    @classmethod
    def _phone_number_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().isdigit():
            raise ValueError("not a number")
        return value.strip() if value else None

    @field_validator("whatsapp_api_base")
    @classmethod
    def _whatsapp_api_base(cls, value: str) -> str:
        if not value.strip():
            return WHATSAPP_API_DEFAULT
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _whatsapp_complete(self) -> Settings:
        """WhatsApp needs all four: name the first one missing (the app secret above all:
        without it nobody can tell Meta's webhook calls from forged ones)."""
        names = (
            "whatsapp_phone_number_id",
            "whatsapp_access_token",
            "whatsapp_app_secret",
            "whatsapp_verify_token",
        )
        given = [name for name in names if getattr(self, name)]
        if given and len(given) < len(names):
            missing = next(name for name in names if not getattr(self, name))
            raise ValueError(
                f"{missing.upper()} is missing: {given[0].upper()} is set, so WhatsApp is meant "
                f"and it needs {', '.join(n.upper() for n in names)}"
            )
        return self

    @property
    def whatsapp(self) -> bool:
        """The WhatsApp channel is configured (webhook on `gangmaker serve`, a sender)."""
        return bool(self.whatsapp_phone_number_id and self.whatsapp_access_token)

    @model_validator(mode="after")
    def _dashboard_key(self) -> Settings:
        key = (self.dashboard_secret_key or "").strip()
        if self.dashboard and not key:
            raise ValueError(
                "DASHBOARD_SECRET_KEY is missing: DASHBOARD=true needs it (at least 32 random "
                "characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )
        if key and len(key) < 32:
            raise ValueError("DASHBOARD_SECRET_KEY is too short: give at least 32 characters")
        return self

    @property
    def telegram_webhook(self) -> bool:
        """Telegram sends its updates to `gangmaker serve` (else `gangmaker run` polls)."""
        return bool(self.telegram_bot_token and self.telegram_webhook_url)


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable and what it expects."""
    error = exc.errors()[0]
    if not error["loc"]:
        # A rule across several variables; its message names them.
        return "configuration error: " + error["msg"].removeprefix("Value error, ")
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
