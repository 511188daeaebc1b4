"""A harness for scripted conversations against the real runtime and the real database.

::

    world = await make_world(sessions)                 # org, area, street, demo-like people
    chat = ChatHarness(sessions, address=world.gangmaker_address)
    await chat.send("hoi")
    assert "Bijdrage aanvragen" in chat.options
    await chat.choose("Bijdrage")                      # by (unique start of a) label
    await chat.send("3")                               # or by typed number
    chat.clock.advance(hours=25)                        # time moves for the next message
    chat.restart()                                     # a fresh Runtime: "the process restarted"
    state = await chat.state()                         # the ConversationState row
    person = await chat.person()                       # the Person row (None once forgotten)

Each send/choose returns the replies of that turn; ``chat.text`` joins their texts,
``chat.last_text`` is the last one, ``chat.options`` are the labels of the latest options shown in
the turn. ``chat.transcript`` keeps the whole conversation for assertion messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.console import render
from bot.conversation import (
    Chosen,
    Contact,
    Incoming,
    Location,
    Photo,
    Registry,
    Reply,
    Runtime,
    Text,
)
from bot.conversation.words import normalize
from bot.db import transaction
from bot.models import (
    Channel,
    ChannelIdentity,
    ConversationState,
    Person,
    Role,
    StreetStatus,
)
from tests import factories
from tests.factories import NOW


class Clock:
    """A movable clock for the runtime: ``clock.advance(hours=25)``."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now


class ChatHarness:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        org_slug: str = "rotterdam",
        address: str = "test-new",
        *,
        channel: Channel = Channel.CONSOLE,
        clock: Clock | None = None,
        registry: Registry | None = None,
        language_hint: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.org_slug = org_slug
        self.address = address
        self.channel = channel
        self.clock = clock or Clock()
        self.registry = registry
        self.language_hint = language_hint
        self.runtime = Runtime(sessions, org_slug, clock=self.clock, registry=registry)
        self.replies: list[Reply] = []
        self.transcript: list[str] = []

    # --- sending ---------------------------------------------------------------------------

    async def send(self, text: str) -> list[Reply]:
        return await self._handle(Text(**self._base(), text=text), text)

    async def press(self, value: str) -> list[Reply]:
        """Press a button by its value (as Telegram/WhatsApp would send it)."""
        return await self._handle(Chosen(**self._base(), value=value), f"[button {value}]")

    async def choose(self, label: str) -> list[Reply]:
        """Press the option with this label (exact, case-insensitive, or the unique one whose
        label starts with or contains it), as a button press."""
        options = self._options()
        wanted = normalize(label)
        for test in (
            lambda o: o.label == label,
            lambda o: normalize(o.label) == wanted,
            lambda o: normalize(o.label).startswith(wanted),
            lambda o: wanted in normalize(o.label),
        ):
            found = [o for o in options if test(o)]
            if len(found) == 1:
                return await self.press(found[0].value)
        raise AssertionError(
            f"no single option {label!r} among {[o.label for o in options]}\n{self.dump()}"
        )

    async def send_photo(self, ref: str = "photo-1", caption: str | None = None) -> list[Reply]:
        return await self._handle(Photo(**self._base(), ref=ref, caption=caption), "[photo]")

    async def send_location(self, latitude: float = 51.91, longitude: float = 4.45) -> list[Reply]:
        event = Location(**self._base(), latitude=latitude, longitude=longitude)
        return await self._handle(event, "[location]")

    async def send_contact(self, phone: str = "+31612345678") -> list[Reply]:
        return await self._handle(Contact(**self._base(), phone=phone), "[contact]")

    def restart(self) -> Runtime:
        """A new Runtime instance, as after a process restart (same clock and registry)."""
        self.runtime = Runtime(
            self.sessions, self.org_slug, clock=self.clock, registry=self.registry
        )
        return self.runtime

    # --- reading the last turn -------------------------------------------------------------

    @property
    def text(self) -> str:
        """All reply texts of the last turn, joined by blank lines."""
        return "\n\n".join(r.text for r in self.replies)

    @property
    def last_text(self) -> str:
        return self.replies[-1].text if self.replies else ""

    @property
    def options(self) -> list[str]:
        """Labels of the latest options shown in the last turn ([] if none)."""
        return [o.label for o in self._options()]

    @property
    def option_values(self) -> list[str]:
        return [o.value for o in self._options()]

    def dump(self) -> str:
        """The whole conversation so far, as the console shows it (for failure messages)."""
        return "\n".join(self.transcript)

    # --- the database ----------------------------------------------------------------------

    async def identity(self) -> ChannelIdentity | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == self.channel,
                    ChannelIdentity.address == self.address,
                )
            )

    async def state(self) -> ConversationState | None:
        identity = await self.identity()
        if identity is None:
            return None
        async with self.sessions() as session:
            return await session.get(ConversationState, identity.id)

    async def person(self) -> Person | None:
        identity = await self.identity()
        if identity is None:
            return None
        async with self.sessions() as session:
            return await session.get(Person, identity.person_id)

    # --- internals -------------------------------------------------------------------------

    def _base(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "address": self.address,
            "language_hint": self.language_hint,
        }

    def _options(self) -> tuple:
        for reply in reversed(self.replies):
            if reply.options:
                return reply.options
        return ()

    async def _handle(self, event: Incoming, shown: str) -> list[Reply]:
        self.replies = await self.runtime.handle(event)
        self.transcript.append(f"> {shown}")
        self.transcript.extend(render(r) for r in self.replies)
        return self.replies


# --- a small world to talk in ----------------------------------------------------------------


@dataclass
class World:
    org_id: int
    area_id: int
    street_id: int
    payout_point_id: int
    gangmaker: str = "gm"
    leader: str = "leader"
    payout: str = "payout"
    admin: str = "admin"
    resident: str = "resident"


async def make_world(
    sessions: async_sessionmaker[AsyncSession], *, slug: str = "rotterdam", liefleed: bool = True
) -> World:
    """An organisation with one area (with a contact line), an active street and consented
    people on the console: a gangmaker ("gm"), a leader, a payout point, an admin and a
    resident without a role. Committed, so every chat turn sees it."""
    async with transaction(sessions) as s:
        org = await factories.organisation(s, slug)
        area = await factories.area(s, org)
        point = await factories.payout_point(s, org, area)
        gm = await factories.person(s, org, "Fatima", address="gm")
        await factories.person(s, org, "Sanne", address="leader", roles=((Role.LEADER, area.id),))
        await factories.person(s, org, "Kees", address="payout", roles=((Role.PAYOUT, point.id),))
        await factories.person(s, org, "Ad", address="admin", roles=((Role.ADMIN, None),))
        await factories.person(s, org, "Noor", address="resident")
        street = await factories.street(
            s, org, area, status=StreetStatus.ACTIVE, gangmakers=(gm,), liefleed=liefleed
        )
        return World(org.id, area.id, street.id, point.id)
