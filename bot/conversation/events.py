"""What comes in from a chat and what goes back out, independent of the messenger.

Channels (Telegram, WhatsApp, console, web) turn their updates into one :class:`Incoming` and
render each :class:`Reply`: text, up to :data:`MAX_OPTIONS` options and optional media. Options
become inline keyboards, reply buttons, list rows or numbered lines; typing the number of an
option always works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from bot.models import Channel

MAX_OPTIONS = 10
# What a reply may carry at most. Dialogs keep to MAX_OPTIONS (one WhatsApp list, one screen)
# and page longer choices themselves; a channel still renders a longer reply (WhatsApp in
# several lists of at most 10 rows), so nothing breaks when one slips through.
MAX_REPLY_OPTIONS = 30
# Telegram's callback_data holds 64 bytes; leave room for a channel's own prefix.
MAX_VALUE_BYTES = 48
BUTTON_MAX_CHARS = 20  # WhatsApp reply-button title
ROW_MAX_CHARS = 24  # WhatsApp list-row title


# --- incoming ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Incoming:
    """One message from one chat address. ``language_hint`` is the app's language, if known."""

    kind: ClassVar[str] = "unknown"
    channel: Channel
    address: str
    language_hint: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Text(Incoming):
    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Chosen(Incoming):
    """A button or list row was pressed; ``value`` is the :class:`Option` value."""

    kind: ClassVar[str] = "choice"
    value: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Photo(Incoming):
    """A photo; ``ref`` is the channel's file id (or a path on the console)."""

    kind: ClassVar[str] = "photo"
    ref: str
    caption: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Location(Incoming):
    kind: ClassVar[str] = "location"
    latitude: float
    longitude: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Contact(Incoming):
    """A shared contact card (a phone number, maybe a name)."""

    kind: ClassVar[str] = "contact"
    phone: str
    name: str | None = None


# --- outgoing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One choice: what the person reads (``label``) and what the dialog gets (``value``)."""

    label: str
    value: str

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("an option needs a label")
        if not self.value or len(self.value.encode()) > MAX_VALUE_BYTES:
            raise ValueError(f"option value must be 1..{MAX_VALUE_BYTES} bytes: {self.value!r}")


@dataclass(frozen=True, slots=True)
class Media:
    kind: Literal["photo", "document"]
    ref: str  # a file id, URL or path the channel knows how to send
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    options: tuple[Option, ...] = field(default=())
    media: Media | None = None

    def __post_init__(self) -> None:
        options = tuple(self.options)
        object.__setattr__(self, "options", options)
        if len(options) > MAX_REPLY_OPTIONS:
            raise ValueError(f"a reply has at most {MAX_REPLY_OPTIONS} options, got {len(options)}")
        if len({o.value for o in options}) != len(options):
            raise ValueError("option values must be unique within a reply")
