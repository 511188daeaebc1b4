"""Channel-neutral replies as Telegram messages: escaped HTML text, inline keyboards, media.

Pure functions, no I/O: :func:`plan` turns one :class:`Reply` into the messages to send. Texts go
out with ``parse_mode=HTML`` and everything from a reply is escaped, so "<3" or "a & b" reach the
person as typed and nothing in a text can break the message.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram import callbacks
from bot.conversation.events import BUTTON_MAX_CHARS, Media, Option, Reply

PARSE_MODE = "HTML"
TEXT_LIMIT = 4096  # characters of a message, after entity parsing
CAPTION_LIMIT = 1024
# Where we cut a long text; a little under the limit (Telegram counts UTF-16 units).
CHUNK = 4000
# Buttons share a row only when they are this short (the narrowest phones still show them whole).
SHORT_LABEL = 10
PER_ROW = 3
# A row of up to three buttons of a small question (yes/no, two languages) fits when
# together they are at most this long.
ROW_CHARS = 36
MEDIA_PREFIX = "telegram:"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = CHUNK) -> list[str]:
    """Cut a long text into pieces of at most ``limit`` UTF-16 units, at line ends or spaces
    where possible. Empty text gives no pieces."""
    pieces: list[str] = []
    rest = text.strip("\n")
    while rest:
        if _units(rest) <= limit:
            pieces.append(rest)
            break
        cut = limit
        while _units(rest[:cut]) > limit:
            cut -= 1
        window = rest[:cut]
        # A line end in the second half, else a space there, else cut through a word.
        at = next((i for i in (window.rfind("\n"), window.rfind(" ")) if i > cut // 2), cut)
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip("\n ")
    return [p for p in pieces if p.strip()]


def layout(options: tuple[Option, ...] | list[Option]) -> list[list[Option]]:
    """Rows of buttons: a small question's few short answers side by side, up to three short
    labels a row, and one button a row for everything else (lists, the menu)."""
    labels = [o.label for o in options]
    if (
        len(options) <= PER_ROW
        and all(len(label) <= BUTTON_MAX_CHARS for label in labels)
        and sum(len(label) for label in labels) <= ROW_CHARS
    ):
        return [list(options)] if options else []
    if all(len(label) <= SHORT_LABEL for label in labels):
        return [list(options[i : i + PER_ROW]) for i in range(0, len(options), PER_ROW)]
    return [[o] for o in options]


def keyboard(options: tuple[Option, ...], token: str) -> InlineKeyboardMarkup | None:
    if not options:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=o.label, callback_data=callbacks.encode(token, o.value))
                for o in row
            ]
            for row in layout(options)
        ]
    )


def media_source(media: Media) -> str | FSInputFile | None:
    """What Telegram can send for a media ref: our own file id, a URL or a local file."""
    ref = media.ref.strip()
    if ref.startswith(MEDIA_PREFIX):
        return ref.removeprefix(MEDIA_PREFIX) or None
    if ref.startswith(("https://", "http://")):
        return ref
    path = Path(ref)
    if ":" not in ref and path.is_file():
        return FSInputFile(path)
    return None  # another channel's file ("whatsapp:…", "console:…"): text only


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: text, or a photo/document with an optional caption."""

    text: str | None = None  # escaped HTML
    media: Media | None = None
    source: str | FSInputFile | None = None
    caption: str | None = None  # escaped HTML
    keyboard: InlineKeyboardMarkup | None = None


def plan(reply: Reply, token: str | None) -> list[Outgoing]:
    """The messages for one reply, in order; the keyboard goes on the last one."""
    markup = keyboard(reply.options, token) if reply.options and token else None
    out: list[Outgoing] = []
    text = reply.text
    source = media_source(reply.media) if reply.media is not None else None
    if reply.media is not None and source is not None:
        caption = reply.media.caption or ""
        if text and _units(text) <= CAPTION_LIMIT and (not caption or caption == text):
            caption, text = text, ""
        out.append(
            Outgoing(
                media=reply.media,
                source=source,
                caption=escape(caption[:CAPTION_LIMIT]) if caption.strip() else None,
            )
        )
    pieces = split_text(text)
    out.extend(Outgoing(text=escape(piece)) for piece in pieces)
    if not out and markup is not None:
        out.append(Outgoing(text="…"))  # a keyboard needs a message to sit on
    if markup is not None and out:
        last = out[-1]
        out[-1] = Outgoing(last.text, last.media, last.source, last.caption, markup)
    return out


def chosen_text(original_html: str, label: str) -> str | None:
    """The text of a message whose button was pressed, showing the choice (None: too long)."""
    text = f"{original_html}\n\n✅ <b>{escape(label)}</b>"
    return text if _units(html.unescape(text)) <= TEXT_LIMIT else None
