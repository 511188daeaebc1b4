"""Reply-button and list-row ids: ``v1|<state token>|<option value>``.

The same scheme as the Telegram channel's callback data (``bot.channels.telegram.callbacks``),
kept here so a WhatsApp-only process never loads aiogram (its import costs seconds and about
100 MB). The token is a short hash of where the chat stood (dialog, step, question, data) and
the options shown: a press counts only while the chat still stands at that question with those
options; a press of an older message, or an id from elsewhere, is refused before the runtime
sees it. WhatsApp allows ids of 256 characters; ours stay under 64 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.conversation.events import Option

VERSION = "v1"
SEPARATOR = "|"
TOKEN_CHARS = 8


def state_token(
    dialog: str | None,
    step: str | None,
    question: str | None,
    data: Mapping[str, Any] | None,
    options: Iterable[Option],
) -> str:
    pairs = [[o.label, o.value] for o in options]
    material = json.dumps(
        [dialog, step, question, data or {}, pairs],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    digest = hashlib.sha256(material.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_CHARS]


def encode(token: str, value: str) -> str:
    return SEPARATOR.join((VERSION, token, value))


@dataclass(frozen=True, slots=True)
class Pressed:
    token: str
    value: str


def decode(data: str | None) -> Pressed | None:
    """The token and value of our own id; None for anything else."""
    if not data:
        return None
    version, sep, rest = data.partition(SEPARATOR)
    token, sep2, value = rest.partition(SEPARATOR)
    if version != VERSION or not sep or not sep2 or len(token) != TOKEN_CHARS or not value:
        return None
    return Pressed(token, value)


@dataclass(frozen=True, slots=True)
class ChatView:
    """Where a chat stands: its language, consent and open question with its options."""

    language: str
    consented: bool
    dialog: str | None = None
    step: str | None = None
    question: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()

    def token(self, options: tuple[Option, ...]) -> str:
        return state_token(self.dialog, self.step, self.question, self.data, options)

    def option(self, pressed: Pressed | None) -> Option | None:
        """The open option a press means, or None when it is stale or forged."""
        if pressed is None or not self.options or pressed.token != self.token(self.options):
            return None
        return next((o for o in self.options if o.value == pressed.value), None)
