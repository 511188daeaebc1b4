"""The WhatsApp channel: pywa (async) updates in, the runtime's replies out.

pywa runs without a server of its own (``server=None``): the aiohttp route of
``gangmaker serve`` (``runner.mount_webhook``) checks the verification and the signature with
pywa's ``webhook_challenge_handler`` / ``webhook_update_validator`` and hands the raw body to
``webhook_update_handler``, which calls the handlers registered here.

What each update does:

- a text, a photo (downloaded through the Graph API media endpoints into the media folder,
  ref ``whatsapp:<file>``), a location or a contact card: a runtime turn.
- a pressed reply button or list row: checked against the open question (the id carries its
  token, as Telegram's callback data do); a stale or forged one gets "this button is no longer
  valid" and changes nothing; a valid one is a runtime turn.
- stickers, voice, video, files: a bare ``Incoming``; the runtime asks again for what it needs.
- reactions and system messages: ignored.
- a message id seen before (Meta repeats webhooks): dropped, in any process (the id is unique
  in the database).
- a status (sent, delivered, read, failed): its delivery row is updated.

Sending: 130429 (throughput) and 131056 (pair rate limit) wait and try again with back-off, a
bounded number of times; other errors are logged and the turn's other messages still go. A photo
that is a file here (a picture a dialog made, or one someone sent us) is uploaded through the
Graph API (``POST /{phone-number-id}/media``, multipart) and sent by its media id; the same bytes
reuse the id for a day. A file Meta would refuse (not JPEG or PNG, over 5 MB) is not uploaded:
the reply's words go as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import mimetypes
import time
from pathlib import Path
from typing import Any

from pywa_async import WhatsApp, handlers, types
from pywa_async.errors import WhatsAppError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import common
from bot.channels.common import ChatLocks, ChatView, RetryPolicy, chat_view
from bot.channels.whatsapp import render, texts
from bot.channels.whatsapp.store import (
    drop_body,
    first_time,
    keep_body,
    leftover_bodies,
    record_status,
)
from bot.conversation import Chosen, Contact, Incoming, Location, Photo, Reply, Runtime, Text
from bot.i18n import translator
from bot.models import Channel, utcnow

log = logging.getLogger(__name__)

# Meta's codes that mean "slow down and try again".
THROUGHPUT = 130429
PAIR_RATE = 131056
RATE_CODES = frozenset({THROUGHPUT, PAIR_RATE, 4, 80007})
UNREADABLE = frozenset({"sticker", "audio", "voice", "video", "document", "unsupported"})
PHOTO_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_BYTES = 5 * 1024 * 1024  # Meta's limit for an image (JPEG or PNG) we send
# An uploaded file's media id is reused for the same bytes (Meta keeps uploads 30 days).
UPLOAD_REUSE_SECONDS = 24 * 3600.0
UPLOADS_KEPT = 256


def address_of(user: Any) -> str | None:
    """The chat address: the phone number (wa_id), else the business-scoped user id."""
    return getattr(user, "wa_id", None) or getattr(user, "bsuid", None)


class WhatsAppChannel:
    """``WhatsAppChannel(wa, sessions, "rotterdam", media_dir=...)``; feed it webhook bodies
    through ``wa.webhook_update_handler`` (``runner.mount_webhook``)."""

    def __init__(
        self,
        wa: WhatsApp,
        sessions: async_sessionmaker[AsyncSession],
        organisation_slug: str,
        *,
        media_dir: str | Path = "media/whatsapp",
        runtime: Runtime | None = None,
        default_language: str = "nl",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.wa = wa
        self.sessions = sessions
        self.media_dir = Path(media_dir)
        self.default_language = default_language
        self.runtime = runtime or Runtime(
            sessions, organisation_slug, default_language=default_language
        )
        self.retry = retry or RetryPolicy()
        self.locks = ChatLocks()
        # Webhook bodies taken in and handled after the answer (:meth:`take`), in order per chat.
        self._arrivals = ChatLocks()
        self._pending: set[asyncio.Task[None]] = set()
        self._in_hand: set[int] = set()  # inbox rows this process is handling
        # Uploaded photos: sha256 of the bytes -> (media id, when), oldest first.
        self._uploaded: dict[str, tuple[str, float]] = {}
        wa.add_handlers(
            handlers.MessageHandler(self.on_message),
            handlers.CallbackButtonHandler(self.on_choice),
            handlers.CallbackSelectionHandler(self.on_choice),
            handlers.MessageStatusHandler(self.on_status),
        )

    # --- webhook bodies --------------------------------------------------------------------

    async def keep(self, body: bytes, chat: str | None) -> int:
        """Store a checked body before Meta gets its 200 (the durable inbox); its row id, for
        :meth:`take`. A process that stops before the body is handled leaves the row for
        :meth:`recover`."""
        return await keep_body(self.sessions, body, chat)

    def take(self, body: bytes, chat: str | None, row_id: int | None = None) -> None:
        """Handle a checked webhook body after the answer went back (Meta wants its 200 fast
        and repeats slow ones). Bodies of one chat are handled in the order they came; a repeat
        is still dropped by message id in the database. ``row_id``: the body's inbox row,
        deleted once it is handled."""
        if row_id is not None:
            self._in_hand.add(row_id)
        task = asyncio.create_task(self._handle_body(body, chat, row_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _handle_body(self, body: bytes, chat: str | None, row_id: int | None = None) -> None:
        # The first thing the task does: wait its turn (asyncio's locks are first come, first
        # served, and tasks start in the order they were made).
        try:
            async with self._arrivals.hold(chat) if chat else contextlib.nullcontext():
                await self.wa.webhook_update_handler(body)
            if row_id is not None:
                await drop_body(self.sessions, row_id)
        except Exception:  # pragma: no cover - pywa catches the handlers' own errors
            # The row stays: :meth:`recover` tries it again a minute later.
            log.exception("whatsapp webhook body not handled")
        finally:
            if row_id is not None:
                self._in_hand.discard(row_id)

    async def recover(self, older_than: float | None = None) -> int:
        """Handle the inbox's leftover bodies (a process stopped before it handled them), in
        the order they came and per chat in order; with ``older_than`` only bodies received at
        least that many seconds ago (not one another process is handling now). How many."""
        before = None
        if older_than is not None:
            before = utcnow() - dt.timedelta(seconds=older_than)
        taken = 0
        for row_id, body, chat in await leftover_bodies(self.sessions, before):
            if row_id in self._in_hand:
                continue
            self.take(body, chat, row_id)
            taken += 1
        if taken:
            log.info("whatsapp: %d webhook bodies left from before handled again", taken)
        return taken

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every body taken in is handled (a graceful stop; tests). False when
        ``timeout`` seconds passed first."""
        while self._pending:
            done, _ = await asyncio.wait(set(self._pending), timeout=timeout)
            if not done:
                return False
        return True

    # --- updates ---------------------------------------------------------------------------

    async def on_message(self, _: WhatsApp, message: types.Message) -> None:
        address = address_of(message.from_user)
        if address is None or not await first_time(self.sessions, message.id):
            return
        base: dict[str, Any] = {"channel": Channel.WHATSAPP, "address": address}
        kind = str(message.type)
        event: Incoming | None
        if message.text is not None and kind == "text":
            event = Text(**base, text=message.text)
        elif message.image is not None:
            ref = await self._download(message.image.id)
            caption = getattr(message.image, "caption", None) or message.caption
            event = Photo(**base, ref=ref, caption=caption) if ref else Incoming(**base)
        elif message.location is not None:
            loc = message.location
            event = Location(**base, latitude=loc.latitude, longitude=loc.longitude)
        elif message.contacts:
            contact = message.contacts[0]
            phone = contact.phones[0].phone if contact.phones else ""
            name = contact.name.first_name if contact.name else None
            event = Contact(**base, phone=phone or "", name=name) if phone else Incoming(**base)
        elif kind in UNREADABLE:
            event = Incoming(**base)
        else:
            event = None  # reactions, system messages, orders: nothing to answer
        if event is None:
            return
        async with self.locks.hold(address):
            await self._turn(address, event)

    async def on_choice(
        self, _: WhatsApp, pressed: types.CallbackButton | types.CallbackSelection
    ) -> None:
        address = address_of(pressed.from_user)
        if address is None or not await first_time(self.sessions, pressed.id):
            return
        async with self.locks.hold(address):
            view = await self._view(address)
            option = view.option(common.decode(str(pressed.data))) if view else None
            if option is None:
                language = view.language if view is not None else self.default_language
                stale = translator(language).tr(texts.STALE_BUTTON)
                await self._send(address, [Reply(stale)], view=None)
                return
            event = Chosen(channel=Channel.WHATSAPP, address=address, value=option.value)
            await self._turn(address, event)

    async def on_status(self, _: WhatsApp, status: types.MessageStatus) -> None:
        error = None
        if status.error is not None:
            error = f"whatsapp_{status.error.code}: {status.error.message}"
        async with self.sessions() as session, session.begin():
            await record_status(
                session, message_id=status.id, status=str(status.status), error=error
            )

    # --- a turn ----------------------------------------------------------------------------

    async def _turn(self, address: str, event: Incoming) -> None:
        replies = await self.runtime.handle(event)
        view = await self._view(address) if any(r.options for r in replies) else None
        await self._send(address, replies, view=view)

    async def _view(self, address: str) -> ChatView | None:
        async with self.sessions() as session:
            return await chat_view(session, Channel.WHATSAPP, address)

    async def _download(self, media_id: str) -> str | None:
        """Fetch a photo through the Graph API (its URL, then the bytes) into the media folder;
        the ref ``whatsapp:<file>`` (a hash of the bytes) or None when it cannot be had."""
        try:
            media = await self.wa.get_media_url(media_id)
            data = await self.wa.get_media_bytes(media.url)
        except Exception as error:  # any failure: the person is asked again, nothing breaks
            log.warning("whatsapp media %s not downloaded: %s", media_id, error)
            return None
        if not data or len(data) > PHOTO_MAX_BYTES:
            return None
        suffix = mimetypes.guess_extension(media.mime_type or "") or ".jpg"
        name = hashlib.sha256(data).hexdigest()[:32] + suffix
        path = self.media_dir / name
        await asyncio.to_thread(_write, path, data)
        return render.MEDIA_PREFIX + name

    # --- sending ---------------------------------------------------------------------------

    async def _send(self, address: str, replies: list[Reply], *, view: ChatView | None) -> None:
        language = view.language if view is not None else self.default_language
        words = translator(language)
        list_button = words.tr(texts.LIST_BUTTON)

        def more(first: int, last: int) -> str:
            return words.tr(texts.MORE_CHOICES, first=first, last=last)

        for reply in replies:
            token = view.token(reply.options) if view is not None and reply.options else None
            for out in render.plan(reply, token, more):
                try:
                    await self._send_one(address, out, list_button)
                except WhatsAppError as error:
                    log.warning("whatsapp message to %s not sent: %s", address, error)

    async def _send_one(self, to: str, out: render.Outgoing, list_button: str) -> None:
        if out.kind == "buttons":
            buttons: Any = [types.Button(title=r.title, callback_data=r.id) for r in out.rows]
        elif out.kind == "list":
            rows = [
                types.SectionRow(title=r.title, callback_data=r.id, description=r.description)
                for r in out.rows
            ]
            buttons = types.SectionList(
                button_title=list_button[:20],
                sections=[types.Section(title=list_button[:24], rows=rows)],
            )
        else:
            buttons = None
        if out.kind == "image":
            assert out.image is not None
            image = await self._image(out.image)
            if image is not None:
                await self._call(self.wa.send_image, to=to, image=image, caption=out.body or None)
            elif out.body:  # the picture cannot go: its words still do
                await self._call(self.wa.send_message, to=to, text=out.body)
        else:
            await self._call(self.wa.send_message, to=to, text=out.body, buttons=buttons)

    async def _image(self, ref: str) -> str | None:
        """What ``send_image`` gets for a photo ref: a URL as it is, a file uploaded through the
        Graph API (``POST /{phone-number-id}/media``) as its media id; None when the file is
        missing, not a JPEG or PNG, or over Meta's 5 MB for images."""
        if render.is_link(ref):
            return ref
        if ref.startswith(render.MEDIA_PREFIX):
            path = self.media_dir / Path(ref.removeprefix(render.MEDIA_PREFIX)).name
        else:
            path = Path(ref)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as error:
            log.warning("whatsapp photo %s not sent: %s", ref, error)
            return None
        mime = image_type(data)
        if mime is None or len(data) > IMAGE_MAX_BYTES:
            log.warning("whatsapp photo %s not sent: %s, %d bytes", ref, mime, len(data))
            return None
        digest = hashlib.sha256(data).hexdigest()
        known = self._uploaded.get(digest)
        if known is not None and time.monotonic() - known[1] < UPLOAD_REUSE_SECONDS:
            return known[0]
        try:
            media = await self._call(
                self.wa.upload_media, media=data, mime_type=mime, filename=path.name
            )
        except WhatsAppError as error:
            log.warning("whatsapp photo %s not uploaded: %s", ref, error)
            return None
        if len(self._uploaded) >= UPLOADS_KEPT:
            self._uploaded.pop(next(iter(self._uploaded)))
        self._uploaded[digest] = (str(media.id), time.monotonic())
        return str(media.id)

    async def _call(self, method: Any, **kwargs: Any) -> Any:
        """One API call, tried again (with back-off) on Meta's rate-limit codes."""
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                return await method(**kwargs)
            except WhatsAppError as error:
                if error.code not in RATE_CODES or attempt == policy.attempts:
                    raise
                delay = min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay)
                log.info(
                    "whatsapp rate limit %s: try %d again in %.1fs", error.code, attempt, delay
                )
                await asyncio.sleep(delay)
        return None  # pragma: no cover - attempts >= 1


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG or PNG by its first bytes (what Meta takes as an image)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
