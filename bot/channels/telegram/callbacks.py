"""Inline-button data: ``v1|<state token>|<option value>``, at most 64 bytes.

The scheme is shared with WhatsApp's button and row ids and lives in
:mod:`bot.channels.common` (with what a token means and when a press counts); this module is
its Telegram name, with Telegram's limit for ``callback_data``.
"""

from __future__ import annotations

from bot.channels.common import (
    MAX_DATA_BYTES,
    SEPARATOR,
    TOKEN_CHARS,
    VERSION,
    Pressed,
    decode,
    encode,
    state_token,
)

MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
assert MAX_DATA_BYTES <= MAX_CALLBACK_BYTES

__all__ = [
    "MAX_CALLBACK_BYTES",
    "SEPARATOR",
    "TOKEN_CHARS",
    "VERSION",
    "Pressed",
    "decode",
    "encode",
    "state_token",
]
