"""The Telegram channel: aiogram updates in, the runtime's replies out.

:class:`TelegramChannel` owns an aiogram ``Dispatcher`` whose handlers turn each update of a
private chat into one :class:`~bot.conversation.Incoming` for the runtime and send the replies
back (``render.plan``). Polling and the webhook feed the same dispatcher (``runner.py``).

What each update does:

- private text, photo (largest size, ref ``telegram:<file_id>``), location, venue and contact:
  a runtime turn. ``/start CODE`` (a deep link ``t.me/<bot>?start=CODE``) is the turn ``/start``
  plus joining the street with invite code ``CODE`` as soon as the person has given consent
  (right away when they already had; otherwise after first contact, followed by a fresh menu).
- stickers, voice, video, files and the like: a runtime turn with a bare ``Incoming``; the
  runtime answers with a kind "please type ..." and the open question again.
- a button press: answered at once; checked against the open question (``callbacks``); a stale
  or forged press gets "this button is no longer valid" and changes nothing; a valid one marks
  the choice in the pressed message (its keyboard goes) and is a runtime turn.
- edited messages: a short note that changes are not read. Channel posts: ignored.
- ``my_chat_member``: the person blocked the bot (kicked) or came back (member): the chat's
  identity is marked unreachable or reachable.
- groups and supergroups: no dialogs, no personal data; a command, mention or reply to the bot
  gets a short pointer to a private chat (``t.me/<bot>``); everything else is ignored.

Sending: 429 waits ``retry_after`` and tries again, network errors and 5xx back off; both are
bounded (:class:`RetryPolicy`). "Forbidden: bot was blocked by the user" marks the identity
unreachable and stops the turn's other messages. Nothing here raises into aiogram.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    ChatMemberUpdated,
    ErrorEvent,
    LinkPreviewOptions,
    Message,
    Update,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.channels import inbound
from bot.channels.common import ChatLocks, ChatView, RetryPolicy, chat_view
from bot.channels.telegram import callbacks, render, texts
from bot.conversation import (
    Chosen,
    Contact,
    Incoming,
    Location,
    Photo,
    Reply,
    Runtime,
    Text,
)
from bot.conversation.runtime import deep_link
from bot.errors import DomainError
from bot.i18n import shipped_languages, translator
from bot.i18n.error_texts import error_text
from bot.models import Channel, ChannelIdentity, StreetStatus
from bot.services import people, streets
from bot.services.people import _language_from_hint

log = logging.getLogger(__name__)

T = TypeVar("T")

PRIVATE = "private"
GROUPS = frozenset({"group", "supergroup"})
# What a person can send that no dialog reads: the runtime asks again for what it needs.
UNREADABLE_CONTENT = frozenset(
    {
        "animation",
        "audio",
        "checklist",
        "dice",
        "document",
        "game",
        "live_photo",
        "paid_media",
        "poll",
        "sticker",
        "story",
        "video",
        "video_note",
        "voice",
    }
)
START = "/start"
# Deep-link payloads Telegram allows: 1-64 of A-Z, a-z, 0-9, _ and -.
PAYLOAD_MAX = 64


class SendFailed(Exception):
    """An API call failed for good (retries used up, or an error that retrying cannot fix)."""


class PendingCodes:
    """Invite codes from ``/start CODE`` waiting for the person's consent (in memory: a
    restart forgets them, and the person opens the link again)."""

    def __init__(self, ttl: float = 24 * 3600, limit: int = 10_000) -> None:
        self.ttl, self.limit = ttl, limit
        self._codes: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def put(self, address: str, code: str) -> None:
        self._codes.pop(address, None)
        self._codes[address] = (code, time.monotonic() + self.ttl)
        while len(self._codes) > self.limit:
            self._codes.popitem(last=False)

    def get(self, address: str) -> str | None:
        entry = self._codes.get(address)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del self._codes[address]
            return None
        return entry[0]

    def pop(self, address: str) -> None:
        self._codes.pop(address, None)


def language_of(hint: str | None, default: str) -> str:
    return _language_from_hint(hint) or default


def start_payload(text: str) -> str | None:
    """``CODE`` of ``/start CODE`` (or ``/start@bot CODE``), else None."""
    command, _, payload = text.strip().partition(" ")
    if command.split("@", 1)[0].lower() != START:
        return None
    payload = payload.strip()
    return payload[:PAYLOAD_MAX] or None


def strip_bot_name(text: str) -> str:
    """``/menu@gangmaker_bot`` -> ``/menu`` (Telegram adds the name after a tap in a list)."""
    if text.startswith("/"):
        command, space, rest = text.partition(" ")
        return command.split("@", 1)[0] + space + rest
    return text


class TelegramChannel:
    """``TelegramChannel(bot, sessions, "rotterdam")``; feed it updates through
    :attr:`dispatcher` (``runner.run_polling`` / ``runner.mount_webhook``)."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        organisation_slug: str,
        *,
        runtime: Runtime | None = None,
        default_language: str = "nl",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.default_language = default_language
        self.runtime = runtime or Runtime(
            sessions, organisation_slug, default_language=default_language
        )
        self.retry = retry or RetryPolicy()
        self.pending_codes = PendingCodes()
        self.locks = ChatLocks()
        self.duplicates = 0  # redelivered updates dropped (bot/channels/inbound.py)
        self.dispatcher = self._dispatcher()

    def _dispatcher(self) -> Dispatcher:
        dp = Dispatcher()
        dp.update.outer_middleware(self._once)  # a redelivered update is dropped
        dp.message.register(self.on_message)
        dp.edited_message.register(self.on_edited_message)
        dp.channel_post.register(self.on_channel_post)
        dp.edited_channel_post.register(self.on_channel_post)
        dp.callback_query.register(self.on_callback)
        dp.my_chat_member.register(self.on_my_chat_member)
        dp.errors.register(self.on_error)
        return dp

    @property
    def allowed_updates(self) -> list[str]:
        return self.dispatcher.resolve_used_update_types()

    # --- start-up --------------------------------------------------------------------------

    async def set_commands(self) -> None:
        """The command menu in every shipped language, and the default language's for the
        rest (Telegram knows only two-letter codes: "pap" speakers get the default)."""
        two_letter = [code for code in shipped_languages() if len(code) == 2 and code.isalpha()]
        for language in (None, *two_letter):
            t = translator(language or self.default_language)
            commands = [
                BotCommand(command=name, description=t.tr(description))
                for name, description in texts.COMMANDS
            ]
            await self.call(SetMyCommands(commands=commands, language_code=language))

    async def prepare_polling(self) -> None:
        """Before long polling: no webhook (getUpdates refuses while one is set), commands."""
        await self.call(DeleteWebhook(drop_pending_updates=False))
        await self.set_commands()

    async def prepare_webhook(self, url: str, secret: str) -> None:
        await self.call(
            SetWebhook(url=url, secret_token=secret, allowed_updates=self.allowed_updates)
        )
        await self.set_commands()

    # --- updates ---------------------------------------------------------------------------

    async def on_message(self, message: Message) -> None:
        if message.chat.type in GROUPS:
            await self._point_to_private_chat(message)
            return
        user = message.from_user
        if message.chat.type != PRIVATE or user is None or user.is_bot:
            return
        address = str(message.chat.id)
        base: dict[str, Any] = {
            "channel": Channel.TELEGRAM,
            "address": address,
            "language_hint": user.language_code,
        }
        code = None
        event: Incoming
        if message.text is not None:
            text = strip_bot_name(message.text)
            code = start_payload(text)
            if code and deep_link(f"{START} {code}") is not None:
                # A neighbour invite (and the like): the runtime opens its dialog itself.
                event, code = Text(**base, text=f"{START} {code}"), None
            else:
                event = Text(**base, text=START if code else text)
        elif message.photo:
            largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
            ref = render.MEDIA_PREFIX + largest.file_id
            event = Photo(**base, ref=ref, caption=message.caption)
        elif message.document and (message.document.mime_type or "").startswith("image/"):
            ref = render.MEDIA_PREFIX + message.document.file_id
            event = Photo(**base, ref=ref, caption=message.caption)
        elif message.location is not None:
            location = message.location
            event = Location(**base, latitude=location.latitude, longitude=location.longitude)
        elif message.contact is not None:
            contact = message.contact
            event = Contact(**base, phone=contact.phone_number, name=contact.first_name)
        elif message.content_type in UNREADABLE_CONTENT:
            event = Incoming(**base)
        else:
            return  # service messages (pinned, auto-delete timer, ...): nothing to answer
        async with self.locks.hold(address):
            if code:
                self.pending_codes.put(address, code)
            await self._turn(message.chat.id, event)

    async def on_callback(self, query: CallbackQuery) -> None:
        message = query.message
        if message is None or message.chat.type != PRIVATE:
            await self._answer(query)
            return
        address = str(message.chat.id)
        hint = query.from_user.language_code
        async with self.locks.hold(address):
            view = await self._view(address)
            option = view.option(callbacks.decode(query.data)) if view is not None else None
            if option is None:
                stale = translator(self._language(view, hint)).tr(texts.STALE_BUTTON)
                await self._answer(query, stale)
                return
            await self._answer(query)
            await self._show_choice(message, option.label)
            event = Chosen(
                channel=Channel.TELEGRAM, address=address, language_hint=hint, value=option.value
            )
            await self._turn(message.chat.id, event)

    async def on_edited_message(self, message: Message) -> None:
        if message.chat.type != PRIVATE or message.from_user is None:
            return
        address = str(message.chat.id)
        async with self.locks.hold(address):
            view = await self._view(address)
            language = self._language(view, message.from_user.language_code)
            reply = Reply(translator(language).tr(texts.EDITED_MESSAGE))
            await self._send(message.chat.id, [reply], view=None)

    async def on_channel_post(self, message: Message) -> None:
        """Posts in a channel the bot was added to: not a conversation, nothing to say."""

    async def on_my_chat_member(self, change: ChatMemberUpdated) -> None:
        if change.chat.type != PRIVATE:
            return
        status = change.new_chat_member.status
        if status in ("kicked", "member"):
            await self._set_reachable(change.chat.id, status == "member")

    async def on_error(self, event: ErrorEvent) -> bool:
        """Whatever slipped through: logged, and the update counts as handled."""
        log.error("telegram update failed", exc_info=event.exception)
        return True

    async def _once(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        """Handle an update only on its first arrival (webhook retry, overlapping pollers)."""
        if not await inbound.first_arrival(self.sessions, Channel.TELEGRAM, update.update_id):
            self.duplicates += 1
            return None
        return await handler(update, data)

    # --- a turn ----------------------------------------------------------------------------

    async def _turn(self, chat_id: int, event: Incoming) -> None:
        """Run the runtime (and a waiting invite code) for one event; send every reply.
        The caller holds the chat's lock."""
        address = str(chat_id)
        # Consent given before: join first, so the menu of this turn already shows the street.
        joined_first = await self._join_street(address)
        replies = [joined_first[0]] if joined_first else []
        replies += await self.runtime.handle(event)
        joined = None if joined_first else await self._join_street(address)
        if joined is not None:
            # Consent given in this turn: the menu just shown misses the street; again.
            replies.append(joined[0])
            if joined[1]:
                menu = Text(channel=Channel.TELEGRAM, address=address, text="menu")
                replies += await self.runtime.handle(menu)
        # The open question (for the buttons' tokens) is only needed when there are buttons.
        view = await self._view(address) if any(r.options for r in replies) else None
        await self._send(chat_id, replies, view=view)

    async def _join_street(self, address: str) -> tuple[Reply, bool] | None:
        """Join the street of the waiting invite code once the person consented: what to
        say and whether it worked; None without a code or while consent is missing."""
        code = self.pending_codes.get(address)
        if code is None:
            return None
        async with self.sessions() as session, session.begin():
            identity = await session.scalar(
                select(ChannelIdentity)
                .options(selectinload(ChannelIdentity.person))
                .where(
                    ChannelIdentity.channel == Channel.TELEGRAM,
                    ChannelIdentity.address == address,
                )
            )
            if identity is None or identity.person.consent_at is None:
                return None
            self.pending_codes.pop(address)
            person = identity.person
            t = translator(person.language)
            try:
                async with session.begin_nested():
                    street = await streets.join_street(session, actor=person, invite_code=code)
            except DomainError as error:
                return Reply(error_text(t, error)), False
            name = f"{street.name} {street.section}" if street.section else street.name
            text = t.tr(texts.JOINED_STREET, street=name)
            if street.status == StreetStatus.PENDING:
                text += "\n" + t.tr(texts.STREET_PENDING)
            return Reply(text), True

    def _language(self, view: ChatView | None, hint: str | None) -> str:
        """The person's language; for a chat we do not know, their app's (or the default)."""
        return view.language if view is not None else language_of(hint, self.default_language)

    async def _view(self, address: str) -> ChatView | None:
        async with self.sessions() as session:
            return await chat_view(session, Channel.TELEGRAM, address)

    # --- sending ---------------------------------------------------------------------------

    async def _send(self, chat_id: int, replies: list[Reply], *, view: ChatView | None) -> None:
        """Send the replies in order; stop when the person blocked us."""
        for reply in replies:
            token = view.token(reply.options) if view is not None and reply.options else None
            for out in render.plan(reply, token):
                try:
                    await self._send_one(chat_id, out)
                except TelegramForbiddenError:
                    await self._set_reachable(chat_id, False)
                    return
                except TelegramBadRequest as error:
                    log.warning("telegram refused a message to %s: %s", chat_id, error)
                except (SendFailed, TelegramAPIError) as error:
                    log.warning("telegram message to %s not sent: %s", chat_id, error)
                    return

    async def _send_one(self, chat_id: int, out: render.Outgoing) -> None:
        if out.media is None:
            await self.call(
                SendMessage(
                    chat_id=chat_id,
                    text=out.text or "…",
                    parse_mode=render.PARSE_MODE,
                    reply_markup=out.keyboard,
                )
            )
            return
        media: dict[str, Any] = {
            "chat_id": chat_id,
            "caption": out.caption,
            "parse_mode": render.PARSE_MODE if out.caption else None,
            "reply_markup": out.keyboard,
        }
        try:
            if out.media.kind == "photo":
                await self.call(SendPhoto(photo=out.source, **media))
            else:
                await self.call(SendDocument(document=out.source, **media))
        except TelegramBadRequest as error:
            # A file Telegram cannot send: the words (and buttons) still go.
            log.warning("telegram refused %s %s: %s", out.media.kind, out.media.ref, error)
            if out.caption or out.keyboard is not None:
                await self._send_one(chat_id, render.Outgoing(out.caption, keyboard=out.keyboard))

    async def call(self, method: TelegramMethod[T]) -> T:
        """One API call, tried again on 429 (after ``retry_after``), network errors and 5xx.
        Raises ``SendFailed`` when the retries are used up; other API errors as they come."""
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                return await self.bot(method)
            except TelegramRetryAfter as error:
                if last or error.retry_after > policy.max_retry_after:
                    raise SendFailed(str(error)) from error
                delay: float = error.retry_after
            except TelegramEntityTooLarge:
                raise
            except (TelegramNetworkError, TelegramServerError) as error:
                if last:
                    raise SendFailed(str(error)) from error
                delay = min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay)
            log.info("telegram %s: try %d again in %.1fs", type(method).__name__, attempt, delay)
            await asyncio.sleep(delay)
        raise SendFailed("no attempts")  # pragma: no cover - attempts >= 1

    async def _answer(self, query: CallbackQuery, text: str | None = None) -> None:
        """Every press gets an answer (the client shows a spinner until then)."""
        try:
            await self.call(AnswerCallbackQuery(callback_query_id=query.id, text=text))
        except (SendFailed, TelegramAPIError) as error:
            log.info("callback query %s not answered: %s", query.id, error)

    async def _show_choice(self, message: Any, label: str) -> None:
        """The pressed message shows what was chosen and loses its buttons."""
        if not isinstance(message, Message):
            return  # too old for Telegram to hand us its content
        edited = render.chosen_text(message.html_text, label) if message.text else None
        method: TelegramMethod[Any] = (
            EditMessageText(
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=edited,
                parse_mode=render.PARSE_MODE,
            )
            if edited is not None
            else EditMessageReplyMarkup(chat_id=message.chat.id, message_id=message.message_id)
        )
        try:
            await self.call(method)
        except (SendFailed, TelegramAPIError) as error:
            log.info("could not mark the choice in %s: %s", message.message_id, error)

    async def _point_to_private_chat(self, message: Message) -> None:
        """In a group: say where to talk, when the bot was addressed; never run a dialog."""
        me = await self.bot.me()
        text = message.text or message.caption or ""
        addressed = (
            text.startswith("/")
            or (me.username is not None and f"@{me.username.lower()}" in text.lower())
            or (
                message.reply_to_message is not None
                and message.reply_to_message.from_user is not None
                and message.reply_to_message.from_user.id == me.id
            )
        )
        if not addressed or me.username is None:
            return
        hint = message.from_user.language_code if message.from_user else None
        t = translator(language_of(hint, self.default_language))
        link = f"https://t.me/{me.username}"
        try:
            await self.call(
                SendMessage(
                    chat_id=message.chat.id,
                    text=render.escape(t.tr(texts.GROUP_POINTER, link=link)),
                    parse_mode=render.PARSE_MODE,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            )
        except (SendFailed, TelegramAPIError) as error:
            log.info("no pointer sent to group %s: %s", message.chat.id, error)

    async def _set_reachable(self, chat_id: int, reachable: bool) -> None:
        async with self.sessions() as session, session.begin():
            known = await people.set_reachable(
                session, channel=Channel.TELEGRAM, address=str(chat_id), reachable=reachable
            )
        if known:
            log.info("telegram chat %s is %sreachable", chat_id, "" if reachable else "un")
