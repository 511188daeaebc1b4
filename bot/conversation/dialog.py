"""The dialog API: a dialog is a named set of steps; each step asks and then handles the answer.

::

    budget = Dialog("budget")

    @budget.prompt("amount")                     # runs when the dialog arrives at the step
    async def ask_amount(ctx: Context) -> None:
        ctx.ask(ctx._("How much do you need? For example: 75"))

    @budget.step("amount")                       # runs with the person's answer
    async def amount(ctx: Context) -> None:
        ctx.data["cents"] = parse_money(ctx.text)  # InvalidInput -> friendly text, same step
        ctx.goto("date")                         # then the runtime runs the prompt of "date"

The first step declared is the entry (``Dialog(name, entry=...)`` to choose another). A step
that neither goes anywhere nor finishes stays where it is: the next message goes to it again.
See docs/DIALOGS.md for the whole story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.conversation.events import Contact, Incoming, Location, Media, Option, Photo, Reply
from bot.i18n import LazyText, Translator, translator
from bot.models import Role

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.models import ChannelIdentity, Organisation, Person

Handler = Callable[["Context"], Awaitable[None]]
Prompt = Callable[["Context"], Awaitable[None] | None]

# What a step's handler may receive besides a chosen option.
INPUT_KINDS = frozenset({"text", "photo", "location", "contact"})


@dataclass
class Step:
    name: str
    handler: Handler | None = None
    prompt: Prompt | None = None
    accepts: frozenset[str] = frozenset({"text"})
    help: LazyText | None = None


class Dialog:
    """A conversation written once for every channel. Module-level instances in ``handlers/``
    are found and registered by ``handlers.load_registry()``."""

    def __init__(self, name: str, *, entry: str | None = None) -> None:
        if not name or len(name) > 40 or ":" in name:
            raise ValueError(f"dialog name must be 1..40 characters without ':': {name!r}")
        self.name = name
        self._entry = entry
        self.steps: dict[str, Step] = {}

    def __repr__(self) -> str:
        return f"Dialog({self.name!r}, steps={list(self.steps)})"

    @property
    def entry(self) -> str:
        if self._entry is not None:
            return self._entry
        if not self.steps:
            raise ValueError(f"dialog {self.name!r} has no steps")
        return next(iter(self.steps))

    def _step(self, name: str) -> Step:
        if not name or len(name) > 40:
            raise ValueError(f"step name must be 1..40 characters: {name!r}")
        return self.steps.setdefault(name, Step(name))

    def step(
        self,
        name: str,
        *,
        accepts: Iterable[str] = ("text",),
        help: LazyText | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the handler of the person's answer at step ``name``.

        ``accepts`` lists what the handler can take besides a chosen option: "text", "photo",
        "location", "contact" (empty: options only). Anything else gets a kind "please type
        ..." from the runtime and never reaches the handler. ``help`` is shown (with the
        question again) when the person types "help" at this step.
        """
        kinds = frozenset(accepts)
        if unknown := kinds - INPUT_KINDS:
            raise ValueError(f"unknown input kinds {sorted(unknown)}; use {sorted(INPUT_KINDS)}")

        def register(func: Handler) -> Handler:
            step = self._step(name)
            if step.handler is not None:
                raise ValueError(f"{self.name}.{name} already has a handler")
            step.handler, step.accepts, step.help = func, kinds, help
            return func

        return register

    def prompt(self, name: str) -> Callable[[Prompt], Prompt]:
        """Register what is said when the dialog arrives at step ``name`` (usually an ask)."""

        def register(func: Prompt) -> Prompt:
            step = self._step(name)
            if step.prompt is not None:
                raise ValueError(f"{self.name}.{name} already has a prompt")
            step.prompt = func
            return func

        return register

    def check(self) -> None:
        """Fail early on a dialog that cannot work (called when it is registered)."""
        if self.entry not in self.steps:
            raise ValueError(f"dialog {self.name!r}: entry step {self.entry!r} does not exist")
        for step in self.steps.values():
            if step.handler is None and step.prompt is None:  # pragma: no cover - defensive
                raise ValueError(f"{self.name}.{step.name} has neither prompt nor handler")


# --- the main menu -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuFacts:
    """What decides which menu entries a person sees (computed once per menu)."""

    roles: frozenset[Role]
    has_liefleed_street: bool = False

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_gangmaker(self) -> bool:
        return Role.GANGMAKER in self.roles

    @property
    def is_leader(self) -> bool:
        return bool(self.roles & {Role.LEADER, Role.THEME_LEAD}) or self.is_admin

    @property
    def is_payout(self) -> bool:
        return Role.PAYOUT in self.roles or self.is_admin

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & {Role.LEADER, Role.THEME_LEAD, Role.PAYOUT, Role.ADMIN})


def everyone(facts: MenuFacts) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """One line of the main menu. It appears only when its dialog is registered and
    ``show(facts)`` is true. ``label`` is a ``lazy.pgettext("row", ...)`` text (≤ 24 chars);
    ``at`` starts the dialog at that step instead of its entry."""

    dialog: str
    label: LazyText
    show: Callable[[MenuFacts], bool] = everyone
    at: str | None = None

    @property
    def value(self) -> str:
        return f"{self.dialog}:{self.at}" if self.at else self.dialog


class Registry:
    """The dialogs the runtime knows, and the menu entries that point at them."""

    def __init__(self, dialogs: Iterable[Dialog] = (), menu: Iterable[MenuEntry] = ()) -> None:
        self._dialogs: dict[str, Dialog] = {}
        self._menu: list[MenuEntry] = []
        for dialog in dialogs:
            self.add(dialog)
        for entry in menu:
            self.add_menu_entry(entry)

    def add(self, dialog: Dialog) -> Dialog:
        existing = self._dialogs.get(dialog.name)
        if existing is not None and existing is not dialog:
            raise ValueError(f"two dialogs are called {dialog.name!r}")
        dialog.check()
        self._dialogs[dialog.name] = dialog
        return dialog

    def add_menu_entry(self, entry: MenuEntry) -> None:
        self._menu.append(entry)

    def get(self, name: str | None) -> Dialog | None:
        return self._dialogs.get(name) if name else None

    def __contains__(self, name: object) -> bool:
        return name in self._dialogs

    @property
    def names(self) -> list[str]:
        return sorted(self._dialogs)

    def menu_entries(self) -> list[MenuEntry]:
        """Entries whose dialog (and step) exist; the others stay hidden."""
        result = []
        for entry in self._menu:
            dialog = self._dialogs.get(entry.dialog)
            if dialog is not None and (entry.at is None or entry.at in dialog.steps):
                result.append(entry)
        return result

    def copy(self) -> Registry:
        return Registry(self._dialogs.values(), self._menu)


# --- the context a step works with ---------------------------------------------------------


@dataclass
class Transition:
    kind: str  # "goto" | "start" | "finish"
    dialog: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    menu: bool = True


@dataclass
class Asked:
    text: str
    options: tuple[Option, ...]
    free_text: bool


class Context:
    """Everything a step needs for one turn. Build replies with :meth:`say` and :meth:`ask`;
    move on with :meth:`goto`, :meth:`start` or :meth:`finish` (or do neither to stay)."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        person: Person,
        identity: ChannelIdentity,
        organisation: Organisation,
        registry: Registry,
        now: dt.datetime,
        dialog: str | None,
        step: str | None,
        data: dict[str, Any],
        event: Incoming | None = None,
        text: str | None = None,
        value: str | None = None,
        acting: Any = None,
    ) -> None:
        self.session = session
        self.person = person
        self.identity = identity
        self.organisation = organisation
        self.registry = registry
        self.now = now
        self.dialog = dialog
        self.step = step
        self.data = data
        self.event = event
        self.text = text
        self.value = value
        self.replies: list[Reply] = []
        self.asked: Asked | None = None
        self.transition: Transition | None = None
        self.moved = False  # set by the runtime once the turn left the step it started at
        # Assisted mode (bot.services.assisted.Acting): this chat acts for ``person``; the
        # helper is ``acting.helper``. None otherwise.
        self.acting = acting

    # --- what came in ----------------------------------------------------------------------

    @property
    def photo(self) -> Photo | None:
        return self.event if isinstance(self.event, Photo) else None

    @property
    def location(self) -> Location | None:
        return self.event if isinstance(self.event, Location) else None

    @property
    def contact(self) -> Contact | None:
        return self.event if isinstance(self.event, Contact) else None

    # --- language ----------------------------------------------------------------------

    @property
    def language(self) -> str:
        return self.t.language

    @property
    def t(self) -> Translator:
        """The person's translator; follows a language change made earlier in this turn."""
        return translator(self.person.language, self.organisation.timezone)

    def _(self, msgid: str, /, **params: Any) -> str:
        return self.t.gettext(msgid, **params)

    def pgettext(self, context: str, msgid: str, /, **params: Any) -> str:
        return self.t.pgettext(context, msgid, **params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        return self.t.ngettext(singular, plural, n, **params)

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        return self.t.npgettext(context, singular, plural, n, **params)

    def tr(self, text: LazyText | str, /, **params: Any) -> str:
        return self.t.tr(text, **params)

    def money(self, cents: int) -> str:
        return self.t.money(cents)

    def date(self, value: dt.date | dt.datetime, format: str = "long") -> str:
        return self.t.date(value, format)

    def datetime(self, value: dt.datetime, format: str = "medium") -> str:
        return self.t.datetime(value, format)

    def time(self, value: dt.time | dt.datetime | int, format: str = "short") -> str:
        return self.t.time(value, format)

    @property
    def today(self) -> dt.date:
        """Today in the organisation's time zone."""
        return self.t.local(self.now).date()

    # --- replies -----------------------------------------------------------------------

    def say(self, text: str, *, media: Media | None = None) -> None:
        self.replies.append(Reply(text, (), media))

    def ask(
        self,
        text: str,
        options: Iterable[Option] = (),
        *,
        free_text: bool = False,
        media: Media | None = None,
    ) -> None:
        """Ask a question, optionally with up to 10 options (channels page up to 30, but keep
        to 10 and page in the dialog). With options, a typed number or label picks one;
        ``free_text=True`` lets other typed text through to the handler."""
        reply = Reply(text, tuple(options), media)
        self.replies.append(reply)
        self.asked = Asked(text, reply.options, free_text)

    def yes_no(self, text: str, *, yes: str | None = None, no: str | None = None) -> None:
        """Ask a yes/no question; the handler gets ``ctx.value`` "yes" or "no" (typed "ja",
        "no", "👍" work too)."""
        self.ask(
            text,
            [
                Option(yes or self.pgettext("button", "Yes"), "yes"),
                Option(no or self.pgettext("button", "No"), "no"),
            ],
        )

    # --- where to go next ----------------------------------------------------------------

    def goto(self, step: str) -> None:
        """Go to another step of this dialog; its prompt runs right away."""
        self.transition = Transition("goto", dialog=self.dialog, step=step)

    def start(self, dialog: str, *, at: str | None = None, **data: Any) -> None:
        """Leave this dialog and start another (at its entry, or at step ``at``) with ``data``."""
        self.transition = Transition("start", dialog=dialog, step=at, data=dict(data))

    def finish(self, *, menu: bool = True) -> None:
        """The dialog is done: back to the main menu (or, with ``menu=False``, to nothing)."""
        self.transition = Transition("finish", menu=menu)
