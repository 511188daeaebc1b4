"""Settings of the delivery engine and the worker, from environment variables (and ``.env``).

Separate from :class:`bot.config.Settings` so the web and chat processes need none of them; a
bad value stops the worker with one line naming the variable, like the main settings do. The
Telegram token and API server (``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_BASE``) are the main
settings' own.
"""

from __future__ import annotations

import sys
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import describe_error


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_sender: Literal["aiogram", "http"] = Field(
        # http by default: aiogram's import and per-message model checks cost the worker about
        # 130 MB and 1 ms of CPU a message (bench/bench_broadcast.py); errors map the same.
        default="http",
        description="http (one plain request per message, lighter) or aiogram (aiogram's Bot)",
    )
    telegram_rate_limit: float = Field(
        default=30.0, ge=0, description="messages per second over all chats; 0 switches it off"
    )
    telegram_burst: int = Field(
        default=30, ge=1, description="messages that may go at once after a quiet moment (>= 1)"
    )
    telegram_chat_interval: float = Field(
        default=1.0, ge=0, description="seconds between two messages to the same chat (>= 0)"
    )
    delivery_batch_size: int = Field(
        default=500, ge=1, le=5000, description="rows claimed at once, 1-5000"
    )
    delivery_concurrency: int = Field(
        default=100, ge=1, le=1000, description="messages in flight at once, 1-1000"
    )
    delivery_lease_seconds: float = Field(
        default=60.0, ge=5, description="seconds a worker holds a claimed row (>= 5)"
    )
    delivery_max_attempts: int = Field(
        default=8, ge=1, description="attempts before a row fails for good (>= 1)"
    )
    delivery_send_timeout: float = Field(
        default=15.0, gt=0, description="seconds to wait for one send (> 0)"
    )
    worker_tick_seconds: float = Field(
        default=1.0, gt=0, description="seconds between two delivery ticks (> 0)"
    )
    worker_id: str | None = Field(default=None, description="a name for this worker in leases")
    whatsapp_rate_limit: float = Field(
        default=80.0, ge=0, description="WhatsApp messages per second per number; 0 switches it off"
    )
    whatsapp_burst: int = Field(
        default=80, ge=1, description="WhatsApp messages that may go at once (>= 1)"
    )
    whatsapp_chat_interval: float = Field(
        default=6.0, ge=0, description="seconds between two WhatsApp messages to one person (>= 0)"
    )
    whatsapp_daily_new_conversations: int = Field(
        default=1000,
        ge=1,
        description="new conversations (templates) per 24 hours: the number's messaging tier",
    )
    whatsapp_templates: str = Field(
        default="",
        description='JSON, e.g. {"announcement": {"name": "news", "languages": ["nl"], '
        '"fallback": "nl"}}',
    )

    @field_validator("whatsapp_templates")
    @classmethod
    def _templates(cls, value: str) -> str:
        from bot.channels.whatsapp.window import Templates

        try:
            Templates.parse(value)
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise ValueError(str(exc)) from None
        return value

    delivery_shared_limits: bool = Field(
        # On: the rate, the per-chat interval and retry_after pauses hold over all worker
        # processes together (through the database); off: per process (one worker only).
        default=True,
        description="true (limits shared by all workers through the database) or false",
    )


def load_delivery_settings() -> DeliverySettings:
    try:
        return DeliverySettings()
    except ValidationError as exc:
        # describe_error looks the field up in the main settings; ours are described here.
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        field = DeliverySettings.model_fields.get(name)
        if field is None:
            print(describe_error(exc), file=sys.stderr)
        else:
            message = error["msg"].removeprefix("Value error, ")
            print(
                f"configuration error: {name.upper()} is invalid ({message}); "
                f"expected {field.description}",
                file=sys.stderr,
            )
        raise SystemExit(2) from None
