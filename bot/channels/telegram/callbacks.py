"""Inline-button data: ``v1|<state token>|<option value>``, at most 64 bytes.

The token ties a button to the question it was shown with: a short hash of where the chat stood
(dialog, step, the question, the dialog's data) and the options of the keyboard. A press counts
only while the chat still stands at that question with those options; an older keyboard, a
button of an earlier round of the same step, or data from elsewhere (another version, a wrong
token, garbage) is refused before the runtime sees it. The token is no secret: whoever can press
a button can as well type the option's number; it only keeps stale keyboards from acting.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.conversation.events import MAX_VALUE_BYTES, Option

VERSION = "v1"
SEPARATOR = "|"
TOKEN_CHARS = 8  # 48 bits of a SHA-256, base64url
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data

# v1|<8>|<48 bytes> = 60 bytes: the largest option value fits.
assert len(VERSION) + 2 * len(SEPARATOR) + TOKEN_CHARS + MAX_VALUE_BYTES <= MAX_CALLBACK_BYTES


def state_token(
    dialog: str | None,
    step: str | None,
    question: str | None,
    data: Mapping[str, Any] | None,
    options: Iterable[Option | tuple[str, str] | list[str]],
) -> str:
    """The token of a keyboard shown at this point of a dialog."""
    pairs = [[o.label, o.value] if isinstance(o, Option) else list(o) for o in options]
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
    data = SEPARATOR.join((VERSION, token, value))
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


@dataclass(frozen=True, slots=True)
class Pressed:
    token: str
    value: str


def decode(data: str | None) -> Pressed | None:
    """The token and value of our own callback data; None for anything else."""
    if not data:
        return None
    version, sep, rest = data.partition(SEPARATOR)
    token, sep2, value = rest.partition(SEPARATOR)
    if version != VERSION or not sep or not sep2 or len(token) != TOKEN_CHARS or not value:
        return None
    return Pressed(token, value)
