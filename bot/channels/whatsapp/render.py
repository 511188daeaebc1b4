"""Channel-neutral replies as WhatsApp Cloud API messages. Pure functions, no I/O.

:func:`plan` turns one :class:`Reply` into the messages to send, within Meta's limits:

- up to 3 options whose labels fit 20 characters: reply buttons;
- otherwise (4-10 options, or a longer label): a list, rows of at most 24 characters (a longer
  label is cut and given whole in the row's description, at most 72 characters);
- more than 10 options: pages, one list message each (at most 10 rows, the pages as even as
  can be); the question carries the first, the next ones say which numbers they hold
  ("More choices (8-14)"). Every row has the same token: any page's row answers the question;
- a body of at most 1024 characters carries the buttons; a longer text goes first as plain
  messages (at most 4096 characters each, cut at line ends or spaces) and the question's last
  part carries the buttons;
- a photo goes as an image (the text as caption when it fits): a public URL as a link, our own
  file (``whatsapp:<name>``, a photo someone sent us) or a local path (a picture a dialog made)
  is uploaded by the adapter through the Graph API and sent by its media id; another channel's
  file (``telegram:<file id>``) and other media are left out and their words are sent.

Button and row ids are ``v1|<state token>|<value>`` (:mod:`bot.channels.common`, as Telegram's),
so a press of an old message is refused the same way. Typing the option's number still works:
that is the runtime's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels import common
from bot.conversation.events import BUTTON_MAX_CHARS, ROW_MAX_CHARS, Option, Reply

BODY_MAX = 1024  # interactive body and captions
TEXT_MAX = 4096  # a plain text message
BUTTONS_MAX = 3
ROWS_MAX = 10
DESCRIPTION_MAX = 72
MEDIA_PREFIX = "whatsapp:"


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends or spaces where possible."""
    pieces: list[str] = []
    rest = text.strip("\n")
    while rest:
        if len(rest) <= limit:
            pieces.append(rest)
            break
        window = rest[:limit]
        at = next((i for i in (window.rfind("\n"), window.rfind(" ")) if i > limit // 2), limit)
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip("\n ")
    return [p for p in pieces if p.strip()]


def _cut(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message: ``kind`` is text, buttons, list or image."""

    kind: str
    body: str
    rows: tuple[Row, ...] = field(default=())
    # An image's ref: a URL, ``whatsapp:<name>`` or a local path (see :func:`image_ref`).
    image: str | None = None


def use_buttons(options: tuple[Option, ...]) -> bool:
    return len(options) <= BUTTONS_MAX and all(len(o.label) <= BUTTON_MAX_CHARS for o in options)


def rows(options: tuple[Option, ...], token: str, *, as_list: bool = False) -> tuple[Row, ...]:
    """Buttons or list rows for the options (ids carry the question's token)."""
    limit = ROW_MAX_CHARS if as_list or not use_buttons(options) else BUTTON_MAX_CHARS
    out = []
    for option in options:
        title = _cut(option.label, limit)
        description = None if title == option.label else _cut(option.label, DESCRIPTION_MAX)
        out.append(Row(common.encode(token, option.value), title, description))
    return tuple(out)


def is_link(ref: str) -> bool:
    return ref.startswith(("https://", "http://"))


def image_ref(reply: Reply) -> str | None:
    """The photo this channel can send: a URL, our own ``whatsapp:<name>`` or a local path;
    None for no photo or another channel's file (``telegram:<file id>``)."""
    if reply.media is None or reply.media.kind != "photo":
        return None
    ref = reply.media.ref.strip()
    if not ref:
        return None
    if is_link(ref) or ref.startswith(MEDIA_PREFIX):
        return ref
    scheme, colon, _ = ref.partition(":")
    if colon and scheme.isalpha() and len(scheme) > 1:
        return None  # another channel's file id (one letter before ":" is a Windows drive)
    return ref


def pages(count: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each list page for ``count`` options: at most 10 rows a page,
    as even as can be (14 options: 7 and 7)."""
    number = max(1, -(-count // ROWS_MAX))
    size = -(-count // number)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def more_choices(first: int, last: int) -> str:
    return f"{first}–{last}"


def plan(
    reply: Reply, token: str | None, more: Callable[[int, int], str] = more_choices
) -> list[Outgoing]:
    """The messages for one reply, in order; the options go with the last one(s). ``more``
    words the body of a second or later page of options (numbers from 1)."""
    out: list[Outgoing] = []
    text = reply.text.strip()
    image = image_ref(reply)
    if image is not None:
        caption = (reply.media.caption if reply.media else None) or ""
        if text and len(text) <= BODY_MAX and not reply.options and caption in ("", text):
            caption, text = text, ""
        out.append(Outgoing("image", caption[:BODY_MAX], image=image))
    elif reply.media is not None and reply.media.caption and not text:
        text = reply.media.caption
    if not (reply.options and token):
        out.extend(Outgoing("text", piece) for piece in split_text(text, TEXT_MAX))
        return out
    # The last part (at most 1024 characters) carries the options; what comes before goes
    # as plain text messages.
    pieces = split_text(text, BODY_MAX) or ["…"]
    head = "\n".join(pieces[:-1])
    out.extend(Outgoing("text", piece) for piece in split_text(head, TEXT_MAX))
    if len(reply.options) <= ROWS_MAX:
        kind = "buttons" if use_buttons(reply.options) else "list"
        out.append(Outgoing(kind, pieces[-1], rows(reply.options, token)))
        return out
    for n, (start, end) in enumerate(pages(len(reply.options))):
        body = pieces[-1] if n == 0 else more(start + 1, end)
        page = rows(reply.options[start:end], token, as_list=True)
        out.append(Outgoing("list", body[:BODY_MAX], page))
    return out
