"""The conversation runtime: one incoming message in, a list of replies out, one transaction.

Per turn: find the organisation and identify the person (``people.identify_in``, one query for
a known chat), lock and load the chat's :class:`ConversationState`, show queued messages on a
channel without push (:data:`PULL_CHANNELS`; looked for only when that query says there are
some), clean the input, handle the global words, map a typed number or a pressed button to the
option shown, and run the current step of the current dialog.

Failure rules: a ``DomainError`` from a service rolls back to a savepoint taken before the
step, is answered with a friendly sentence (``bot/i18n/error_texts.py``) and leaves the dialog
at the same step; any other exception is logged, rolled back, answered with a short apology
and the dialog goes back to the menu. :meth:`Runtime.handle` never raises.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.dialog import Asked, Context, Registry, Step
from bot.conversation.events import Chosen, Incoming, Option, Reply, Text
from bot.conversation.sanitize import MAX_TEXT_CHARS, clean_text, too_long
from bot.conversation.throttle import Throttle
from bot.conversation.words import (
    Command,
    command_of,
    command_word,
    normalize,
    number_of,
    yes_no_of,
)
from bot.errors import DomainError
from bot.i18n import Translator, translator
from bot.i18n.error_texts import error_text
from bot.models import Channel, ChannelIdentity, ConversationState, Organisation, Person, utcnow
from bot.services import assisted, notify, people

log = logging.getLogger(__name__)

MENU, START, HELP, SETTINGS = "menu", "start", "help", "settings"
ASSISTED = "assisted"  # handlers/assisted.py: start acting for a neighbour
# A dialog left alone this long starts over (with a short hint).
STALE_AFTER = dt.timedelta(hours=24)
# Prompts that keep jumping elsewhere are a bug; stop instead of looping forever.
MAX_HOPS = 12
# Runtime keys inside ConversationState.data; dialog data may not start with "_".
QUESTION_KEY, FREE_TEXT_KEY = "_q", "_free"
# Channels that cannot push: their queued direct messages (bot/services/notify.py) are shown at
# the start of the person's next turn. Telegram and WhatsApp have senders that push instead.
PULL_CHANNELS = frozenset({Channel.CONSOLE})

Clock = Callable[[], dt.datetime]
StepFunc = Callable[[Context], Awaitable[None] | None]


class Runtime:
    """``await Runtime(sessions, "rotterdam").handle(Text(channel=..., address=..., text="hoi"))``

    ``clock`` returns the current aware UTC time (tests move it); ``registry`` defaults to every
    dialog in ``handlers/``.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        organisation_slug: str,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        default_language: str = "nl",
        pull_channels: frozenset[Channel] = PULL_CHANNELS,
        throttle: Throttle | None = None,
    ) -> None:
        if registry is None:
            from bot.conversation.loader import load_registry

            registry = load_registry()
        for needed in (MENU, START):
            if needed not in registry:
                raise ValueError(f"the registry needs a {needed!r} dialog")
        self.sessions = sessions
        self.organisation_slug = organisation_slug
        self.clock: Clock = clock or utcnow
        self.registry = registry
        self.default_language = default_language
        self.pull_channels = pull_channels
        self.throttle = throttle  # per-chat flood limit (bot/conversation/throttle.py)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        now = self.clock()
        try:
            held = self.throttle and await self.throttle.check(self.sessions, incoming, now)
            if held is not None:
                return held  # over this chat's limit: "slow down" once, else nothing
            async with self.sessions() as session, session.begin():
                pull = incoming.channel in self.pull_channels
                # SQLite's BEGIN IMMEDIATE already holds the write lock: the chat's state can
                # come with the identity. Elsewhere it is read with a row lock below.
                locked = session.get_bind().dialect.name == "sqlite"
                # One query finds the organisation, the person, their roles, whether the chat
                # acts for a neighbour and (on a channel without push) whether anything is
                # queued for them.
                arrival = await people.identify_in(
                    session,
                    organisation_slug=self.organisation_slug,
                    channel=incoming.channel,
                    address=incoming.address,
                    language_hint=incoming.language_hint,
                    now=now,
                    flags=(assisted.has_session(), notify.has_pending())
                    if pull
                    else (assisted.has_session(),),
                    state=locked,
                )
                org, person, identity = arrival.organisation, arrival.person, arrival.identity
                # Lock the chat's row: two messages of one chat are handled one after the other.
                # A chat written to for the first time has no row yet.
                if arrival.state_loaded or arrival.is_new:
                    state = arrival.state
                else:
                    state = await session.get(ConversationState, identity.id, with_for_update=True)
                new_state = state is None
                if state is None:
                    # Added to the session only at the end of the turn: one INSERT with where
                    # the chat ends up, instead of an INSERT now and an UPDATE then.
                    state = ConversationState(
                        identity_id=identity.id,
                        dialog=None,
                        step=None,
                        data={},
                        options=[],
                        updated_at=now,
                    )
                await session.flush()
                # Assisted mode: this chat may be acting for a neighbour (bot/services/assisted).
                # Looked up only when the first query saw a session (or could not tell); a chat
                # written to for the first time has none.
                flags = arrival.flags
                acting, ended = None, None
                if not arrival.is_new and (flags is None or flags[0]):
                    acting, ended = await assisted.resume(session, identity=identity, now=now)
                turn = _Turn(self, session, org, person, identity, state, now, acting=acting)
                if ended is not None:
                    turn.acting_expired(ended)
                queued = flags[1] if flags is not None and pull else None  # None: not checked
                if pull and person.consent_at is not None and queued is not False:
                    await turn.pull_deliveries()
                replies = await turn.run(incoming)
                if new_state and not _is_deleted(turn.identity):
                    session.add(state)
                return replies
        except Exception:
            log.exception("turn failed for %s:%s", incoming.channel, incoming.address)
            t = translator(self.default_language)
            return [Reply(t._("Sorry, something went wrong on our side. Please try again later."))]


# Deep links: "/start <prefix><code>" (Telegram's t.me/<bot>?start=<prefix><code>, typed the same
# in the terminal chat) opens the dialog with data {"code": code}. Gangmaker invite codes have no
# prefix; the Telegram channel handles those itself.
DEEP_LINKS: dict[str, str] = {"n-": "neighbour"}


def deep_link(text: str) -> tuple[str, str] | None:
    """``/start n-ABCD2345`` -> ``("neighbour", "ABCD2345")``; None for anything else."""
    command, _, payload = text.strip().partition(" ")
    if command.split("@", 1)[0].lower() != "/start":
        return None
    payload = payload.strip()
    for prefix, dialog in DEEP_LINKS.items():
        if payload.lower().startswith(prefix) and len(payload) > len(prefix):
            return dialog, payload[len(prefix) : len(prefix) + 32]
    return None


def _is_deleted(obj: object) -> bool:
    state = sa_inspect(obj)
    return bool(state.deleted or state.was_deleted)


def match_option(text: str, options: tuple[Option, ...]) -> Option | None:
    """The option a typed message means: its number, its label (or the unique label it
    starts), or yes/no words for a yes/no question."""
    number = number_of(text)
    if number is not None:
        return options[number - 1] if 1 <= number <= len(options) else None
    values = {o.value for o in options}
    if {"yes", "no"} <= values and (answer := yes_no_of(text)) is not None:
        return next(o for o in options if o.value == answer)
    typed = normalize(text)
    if not typed:
        return None
    for option in options:
        if normalize(option.label) == typed:
            return option
    if len(typed) >= 3:
        starting = [o for o in options if normalize(o.label).startswith(typed)]
        if len(starting) == 1:
            return starting[0]
    return None


@dataclass(frozen=True, slots=True)
class _Position:
    dialog: str | None
    step: str | None
    data: dict[str, Any]
    asked: Asked | None = None
    keep_question: bool = False


_IDLE = _Position(None, None, {})


class _Turn:
    """One message being handled; holds the loaded rows and the replies so far."""

    def __init__(
        self,
        runtime: Runtime,
        session: AsyncSession,
        org: Organisation,
        person: Person,
        identity: ChannelIdentity,
        state: ConversationState,
        now: dt.datetime,
        *,
        acting: assisted.Acting | None = None,
    ) -> None:
        self.runtime = runtime
        self.registry = runtime.registry
        self.session = session
        self.org = org
        self.person = person
        self.identity = identity
        self.state = state
        self.now = now
        self.replies: list[Reply] = []
        # Acting for a neighbour: dialogs see the neighbour as the person; the helper stays.
        self.helper = person
        self.acting = acting
        if acting is not None:
            self.person = acting.person

    @property
    def t(self) -> Translator:
        return translator(self.person.language, self.org.timezone)

    # --- the turn ----------------------------------------------------------------------

    def acting_expired(self, initials: str) -> None:
        """The session for a neighbour ran out (idle): say so; drop their unfinished dialog."""
        self.replies.append(
            Reply(
                self.t._(
                    "The help for {initials} has stopped: there was no message for 15 minutes.",
                    initials=initials,
                )
            )
        )
        if self.state.dialog not in (None, MENU):
            self._set_position(_IDLE)

    async def _stop_acting(self, ctx: Context) -> None:
        """Back to the helper: end the session and continue the turn in their language."""
        acting, ctx.acting, self.acting = ctx.acting, None, None
        await assisted.end(self.session, acting, reason="finished", now=self.now)
        ctx.person = self.person = self.helper
        ctx.say(ctx._("You are done helping {initials}. Thank you!", initials=acting.initials))

    async def pull_deliveries(self) -> None:
        """Show this chat's queued direct messages first (a channel without push)."""
        pending = await notify.pending_for_identity(self.session, self.identity)
        for delivery in await notify.mark_sent(
            self.session, pending, identity=self.identity, now=self.now
        ):
            self.replies.append(Reply(delivery.body or ""))

    async def run(self, incoming: Incoming) -> list[Reply]:
        state = self.state
        if state.dialog and self.now - state.updated_at > STALE_AFTER:
            if state.dialog != MENU and self.person.consent_at is not None:
                self.replies.append(
                    Reply(
                        self.t._("Your last conversation was more than a day ago. We start again.")
                    )
                )
            self._set_position(_IDLE)

        text: str | None = None
        if isinstance(incoming, Text):
            text = clean_text(incoming.text)
            if too_long(text):
                return await self._reask(
                    self.t._(
                        "That is a very long message. Please keep it short: at most {max} "
                        "characters.",
                        max=MAX_TEXT_CHARS,
                    )
                )
            if not text:
                return await self._reask(self.t._("I did not get any text. Please try again."))

        link = deep_link(text) if text is not None else None
        if link is not None and link[0] in self.registry:
            return await self._open_link(*link)

        command = command_of(text) if text is not None else None
        if command is Command.DONE and self.acting is None:
            command = None  # "klaar" only ends a session for a neighbour; else it is a word
        if self.person.consent_at is None:
            replies = await self._without_consent(command)
            if replies is not None:
                return replies
        elif command is not None:
            return await self._command(command)

        dialog = self.registry.get(state.dialog)
        step = dialog.steps.get(state.step) if dialog is not None and state.step else None
        if dialog is None or step is None or step.handler is None:
            if state.dialog is not None:
                log.warning("no step %s.%s; back to the menu", state.dialog, state.step)
            return await self._enter(MENU)
        return await self._answer(dialog.name, step, incoming, text)

    async def _answer(
        self, dialog: str, step: Step, incoming: Incoming, text: str | None
    ) -> list[Reply]:
        """Map the message onto the step's question and run the step's handler."""
        options = self._options()
        free = bool(self.state.data.get(FREE_TEXT_KEY))
        value: str | None = None
        typed: str | None = None
        if isinstance(incoming, Chosen):
            if not any(o.value == incoming.value for o in options):
                return await self._reask(self.t._("That choice is no longer available."))
            value = incoming.value
        elif text is not None:
            if options:
                chosen = match_option(text, options)
                if chosen is not None:
                    value = chosen.value
                elif free and "text" in step.accepts:
                    typed = text
                elif number_of(text) is not None:
                    return await self._reask(
                        self.t._("Please choose a number from 1 to {max}.", max=len(options))
                    )
                else:
                    return await self._reask(
                        self.t._("Please choose one of the options. You can type its number.")
                    )
            elif "text" in step.accepts:
                typed = text
            else:
                return await self._reask(self._expected(step, options))
        elif incoming.kind not in step.accepts:
            return await self._reask(self._expected(step, options))

        ctx = self._context(dialog, step.name, event=incoming, text=typed, value=value)
        return await self._run(ctx, step.handler)

    def _expected(self, step: Step, options: tuple[Option, ...]) -> str:
        free = bool(self.state.data.get(FREE_TEXT_KEY))
        if "text" in step.accepts and (free or not options):
            return self.t._("I can only read text here. Please type your answer.")
        if options:
            return self.t._("Please choose one of the options. You can type its number.")
        if "photo" in step.accepts:
            return self.t._("Please send a photo.")
        if "location" in step.accepts:
            return self.t._("Please share a location.")
        return self.t._("Please send a contact.")

    # --- global words ----------------------------------------------------------------------

    async def _without_consent(self, command: Command | None) -> list[Reply] | None:
        """Before consent only the start dialog runs; STOP is honoured all the same."""
        if command is Command.STOP:
            return await self._run(self._context(self.state.dialog, self.state.step), _stop)
        if command is Command.RESUME and self.person.announcements_opt_out:
            await people.opt_in_announcements(self.session, self.person)
        in_start = self.state.dialog == START and self.state.step is not None
        if in_start and command in (Command.MENU, Command.HELP, Command.CANCEL):
            return await self._reask(self.t._("First we need your answer to this question."))
        if not in_start or command is not None:
            at = "language" if command is Command.LANGUAGE else None
            return await self._enter(START, at=at if at in self._start_steps() else None)
        return None

    async def _open_link(self, dialog: str, code: str) -> list[Reply]:
        """A deep link opens its dialog with ``{"code": code}``; without consent the start
        dialog runs first and hands over (``then``) once the person agreed."""
        ctx = self._context(self.state.dialog, self.state.step)
        if self.person.consent_at is None:
            ctx.start(START, then=dialog, code=code)
        else:
            ctx.start(dialog, code=code)
        return await self._run(ctx, None)

    def _start_steps(self) -> dict[str, Step]:
        start = self.registry.get(START)
        return start.steps if start is not None else {}

    async def _command(self, command: Command) -> list[Reply]:
        state, t = self.state, self.t
        busy = state.dialog not in (None, MENU, HELP)
        if command is Command.MENU:
            return await self._enter(MENU)
        if command is Command.HELP:
            if not busy:
                return await self._enter(HELP if HELP in self.registry else MENU)
            step = self._current_step()
            hint = t.tr(step.help) + "\n" if step is not None and step.help else ""
            return await self._reask(
                hint
                + t._(
                    "Answer the question below. Type {cancel} to stop, or {menu} for the menu.",
                    cancel=command_word(Command.CANCEL, t.language),
                    menu=command_word(Command.MENU, t.language),
                )
            )
        if command is Command.CANCEL:
            if busy:
                self.replies.append(Reply(t._("Okay, we stopped.")))
            return await self._enter(MENU)
        if command is Command.LANGUAGE:
            settings = self.registry.get(SETTINGS)
            if settings is not None and "language" in settings.steps:
                return await self._enter(SETTINGS, at="language")
            return await self._enter(MENU)
        if command is Command.STOP:
            return await self._run(self._context(state.dialog, state.step), _stop)
        if command is Command.DONE:
            return await self._enter(MENU)  # leaving for the menu ends the session
        if command is Command.ASSIST:
            if self.acting is not None:
                return await self._reask(
                    t._(
                        "You are already helping {initials}. Type {done} to stop.",
                        initials=self.acting.initials,
                        done=command_word(Command.DONE, t.language),
                    )
                )
            return await self._enter(ASSISTED if ASSISTED in self.registry else MENU)
        return await self._run(self._context(state.dialog, state.step), _resume)

    def _current_step(self) -> Step | None:
        dialog = self.registry.get(self.state.dialog)
        return dialog.steps.get(self.state.step or "") if dialog else None

    # --- running steps -----------------------------------------------------------------

    def _context(self, dialog: str | None, step: str | None, **kw: Any) -> Context:
        data = {k: v for k, v in (self.state.data or {}).items() if not k.startswith("_")}
        return Context(
            session=self.session,
            person=self.person,
            identity=self.identity,
            organisation=self.org,
            registry=self.registry,
            now=self.now,
            dialog=dialog,
            step=step,
            data=json.loads(json.dumps(data)),  # a private copy: nothing leaks on rollback
            acting=self.acting,
            **kw,
        )

    async def _enter(self, dialog: str, *, at: str | None = None) -> list[Reply]:
        ctx = self._context(self.state.dialog, self.state.step)
        ctx.start(dialog, at=at)
        return await self._run(ctx, None)

    async def _run(
        self, ctx: Context, func: StepFunc | None, *, last_try: bool = False
    ) -> list[Reply]:
        """Run ``func`` and the prompts it leads to inside a savepoint; commit the new position
        only when all of it succeeded."""
        savepoint = await self.session.begin_nested()
        try:
            if func is not None:
                await _call(func, ctx)
            await self._follow(ctx)
            position = self._position_of(ctx)
            await self.session.flush()
        except DomainError as error:
            await savepoint.rollback()
            await self._recover()
            return self._refused(error)
        except Exception:
            log.exception("dialog %s.%s failed", ctx.dialog, ctx.step)
            await savepoint.rollback()
            await self._recover()
            return await self._apologise(last_try=last_try)
        await savepoint.commit()
        self.replies.extend(ctx.replies)
        # A step may have started (handlers/assisted.py) or ended acting for a neighbour.
        self.acting = ctx.acting
        self.person = ctx.acting.person if ctx.acting is not None else self.helper
        if _is_deleted(self.person):
            # The person asked to be forgotten: their rows (this state too) are gone.
            return self.replies
        self._set_position(position)
        self.state.updated_at = self.now
        return self.replies

    async def _follow(self, ctx: Context) -> None:
        """Carry out goto/start/finish and run the prompt of every step arrived at."""
        hops = 0
        ctx.moved = False
        while ctx.transition is not None and not _is_deleted(self.person):
            hops += 1
            if hops > MAX_HOPS:
                raise RuntimeError(f"dialog {ctx.dialog}.{ctx.step} keeps moving; stopped")
            move, ctx.transition = ctx.transition, None
            if ctx.acting is not None and (move.kind == "finish" or move.dialog == MENU):
                await self._stop_acting(ctx)  # the task is done: the session ends
            ctx.moved, ctx.asked = True, None
            ctx.event, ctx.text, ctx.value = None, None, None
            if move.kind == "finish" and not move.menu:
                ctx.dialog, ctx.step, ctx.data = None, None, {}
                continue
            if move.kind == "finish":
                move.kind, move.dialog, move.step, move.data = "start", MENU, None, {}
            dialog = self.registry.get(move.dialog)
            if dialog is None:
                raise RuntimeError(f"no dialog {move.dialog!r} is registered")
            step_name = move.step or dialog.entry
            step = dialog.steps.get(step_name)
            if step is None:
                raise RuntimeError(f"dialog {dialog.name!r} has no step {step_name!r}")
            if move.kind == "start":
                ctx.data = move.data
            ctx.dialog, ctx.step = dialog.name, step_name
            if step.prompt is not None:
                await _call(step.prompt, ctx)

    def _position_of(self, ctx: Context) -> _Position:
        """Where the chat stands after ``ctx``; checked here so bad data fails inside the
        savepoint (as an unexpected error) rather than at commit."""
        bad = [k for k in ctx.data if not isinstance(k, str) or k.startswith("_")]
        if bad:
            raise ValueError(f"dialog data keys may not start with '_': {bad}")
        json.dumps(ctx.data)
        keep = not ctx.moved and ctx.asked is None
        return _Position(ctx.dialog, ctx.step, ctx.data, ctx.asked, keep)

    def _set_position(self, position: _Position) -> None:
        state = self.state
        meta: dict[str, Any] = {}
        options: list[list[str]] = []
        if position.asked is not None:
            asked = position.asked
            meta = {QUESTION_KEY: asked.text, FREE_TEXT_KEY: asked.free_text}
            options = [[o.label, o.value] for o in asked.options]
        elif position.keep_question:
            # Stayed at the step without asking anew: the open question stays the same.
            meta = {k: v for k, v in (state.data or {}).items() if k.startswith("_")}
            options = list(state.options or [])
        state.dialog, state.step = position.dialog, position.step
        state.data = {**position.data, **meta}
        state.options = options

    def _options(self) -> tuple[Option, ...]:
        return tuple(Option(label, value) for label, value in (self.state.options or []))

    async def _recover(self) -> None:
        """After a savepoint rollback, reload what the step may have changed."""
        for obj in (self.org, self.person, self.identity, self.state):
            if sa_inspect(obj).persistent:  # a new chat's state is added at the end of the turn
                await self.session.refresh(obj)

    def _refused(self, error: DomainError) -> list[Reply]:
        self.replies.append(Reply(error_text(self.t, error), self._options()))
        self.state.updated_at = self.now
        return self.replies

    async def _reask(self, hint: str) -> list[Reply]:
        """Say ``hint`` and repeat the open question (or show the menu when there is none)."""
        state = self.state
        if state.dialog is None:
            self.replies.append(Reply(hint))
            return await self._enter(MENU)
        question = state.data.get(QUESTION_KEY)
        text = f"{hint}\n\n{question}" if question else hint
        self.replies.append(Reply(text, self._options()))
        state.updated_at = self.now
        return self.replies

    async def _apologise(self, *, last_try: bool) -> list[Reply]:
        if last_try:
            # Even the menu failed (the apology is already said): leave the chat idle.
            self._set_position(_IDLE)
            self.state.updated_at = self.now
            return self.replies
        self.replies.append(
            Reply(self.t._("Sorry, something went wrong on our side. We go back to the menu."))
        )
        ctx = self._context(self.state.dialog, self.state.step)
        ctx.start(MENU)
        return await self._run(ctx, None, last_try=True)


async def _call(func: StepFunc, ctx: Context) -> None:
    result = func(ctx)
    if inspect.isawaitable(result):
        await result


async def _stop(ctx: Context) -> None:
    """STOP / afmelden: no more announcements; the current dialog ends."""
    await people.opt_out_announcements(ctx.session, ctx.person)
    ctx.say(
        ctx._(
            "You will get no more news messages from us. Changed your mind? Send {resume}.",
            resume=command_word(Command.RESUME, ctx.language).upper(),
        )
    )
    ctx.finish(menu=False)


async def _resume(ctx: Context) -> None:
    """The way back from STOP."""
    if ctx.person.announcements_opt_out:
        await people.opt_in_announcements(ctx.session, ctx.person)
        ctx.say(ctx._("Welcome back! You will get our news messages again."))
    ctx.finish()
