"""Neighbours: a street's invite link and card, subscribing to its news, and tips.

A gangmaker shares the street's *neighbour* link (``https://t.me/<bot>?start=n-<code>``, also as
a QR code on a printable card). The code is a :class:`NeighbourInvite` of the street and is
never the street's gangmaker ``invite_code``: a neighbour who uses it only subscribes to the
street's news, they do not become a gangmaker. The same start payload ``/start n-<code>`` works
in the terminal chat.

A subscription stores the person and the street, nothing else: the language is the person's,
no name and no house number are asked. STOP (``announcements_opt_out``) stops street news too;
leaving one street's news deletes the subscription.

A neighbour without a chat app of their own is subscribed on a helper's phone (assisted
mode: the person is initials, a house number and a language; the subscription's
``helped_by_id`` is the helper, set by the assisted hook). Their news goes to the helper's chat
(``bot/services/street_news.py``). :func:`unsubscribe` of such a subscription also deletes the
news rows written for the neighbour on the helper's chat; the neighbour's person row goes when
the assisted session ends and nothing else of them is left (``bot/services/assisted.py``).

A subscribed neighbour can send the street's gangmakers a Lief & Leed tip ("a baby at number
12"): free text of :data:`TIP_MIN`..:data:`TIP_MAX` characters, delivered to each gangmaker
through the outbox (``notify``), at most :data:`TIPS_PER_DAY` a day. The tip is not stored
anywhere else and does not say who sent it: its delivery keys are ``tip:<token>:<gangmaker>``;
the daily limit is counted from :class:`NeighbourTip` rows (the sender and a time, nothing
else), which go when the sender is forgotten and are pruned after a day.

Error keys (``bot.errors`` type, key, parameters):

- ``NotFound("neighbours.code_unknown")``: no street of the organisation has this neighbour code.
- ``Conflict("neighbours.street_closed")``: the street was rejected or stopped.
- ``NotAllowed("perm.not_your_street")``: only the street's gangmakers share its invite.
- ``NotAllowed("neighbours.not_subscribed")``: tips only from the street's subscribers.
- ``InvalidInput("neighbours.tip_too_short", min=5)``: the tip says (almost) nothing.
- ``InvalidInput("neighbours.tip_too_long", max=500)``: the tip is longer than that.
- ``Conflict("neighbours.too_many_tips", max=5)``: more tips today than that.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.sanitize import clean_text
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.i18n import Translator
from bot.models import (
    Delivery,
    NeighbourInvite,
    NeighbourTip,
    Person,
    Street,
    StreetMembership,
    StreetStatus,
    StreetSubscription,
    utcnow,
)
from bot.services import codes, notify, permissions

# The start payload of a neighbour link: "n-" + code. Gangmaker invite codes have no prefix.
PAYLOAD_PREFIX = "n-"
CODE_LENGTH = 8
TIP_MIN, TIP_MAX = 5, 500
TIPS_PER_DAY = 5
DEFAULT_BOT_USERNAME = "gangmaker_bot"
CLOSED = (StreetStatus.REJECTED, StreetStatus.INACTIVE)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or utcnow()).astimezone(dt.UTC)


def street_label(street: Street) -> str:
    return f"{street.name} {street.section}" if street.section else street.name


# --- links -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkSettings:
    bot_username: str
    media_dir: Path


def link_settings() -> LinkSettings:
    """The bot's Telegram name (for t.me links) and where invite files are written."""
    from bot.config import Settings

    try:
        settings = Settings()
        username = settings.telegram_bot_username or DEFAULT_BOT_USERNAME
        media = settings.media_dir
    except ValidationError:  # a broken setting elsewhere is reported at start-up, not here
        username, media = DEFAULT_BOT_USERNAME, None
    return LinkSettings(username, Path(media or Path(tempfile.gettempdir()) / "gangmaker-media"))


def start_payload(code: str) -> str:
    return PAYLOAD_PREFIX + code


def invite_link(code: str, bot_username: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={start_payload(code)}"


def code_of_payload(payload: str) -> str | None:
    """``n-ABCD2345`` -> ``ABCD2345``; None for any other payload (e.g. a gangmaker code)."""
    if not payload.lower().startswith(PAYLOAD_PREFIX):
        return None
    code = codes.normalise_code(payload[len(PAYLOAD_PREFIX) :])
    return code or None


# --- invite ------------------------------------------------------------------------------


async def street_invite(
    session: AsyncSession, *, actor: Person, street: Street, now: dt.datetime | None = None
) -> NeighbourInvite:
    """The street's neighbour invite, made the first time a gangmaker asks for it."""
    await permissions.require_gangmaker_of(session, actor, street)
    if street.status in CLOSED:
        raise Conflict("neighbours.street_closed")
    existing = await session.scalar(
        select(NeighbourInvite).where(NeighbourInvite.street_id == street.id)
    )
    if existing is not None:
        return existing
    for _ in range(20):
        code = codes.new_code(CODE_LENGTH)
        taken = await session.scalar(select(NeighbourInvite.id).where(NeighbourInvite.code == code))
        if taken is None:
            break
    else:  # pragma: no cover - 31**8 codes
        raise RuntimeError("no free neighbour code after 20 tries")
    invite = NeighbourInvite(street_id=street.id, code=code, created_at=_now(now))
    try:
        async with session.begin_nested():
            session.add(invite)
            await session.flush()
    except IntegrityError:  # two gangmakers at once: the other one's invite counts
        found = await session.scalar(
            select(NeighbourInvite).where(NeighbourInvite.street_id == street.id)
        )
        if found is None:  # pragma: no cover
            raise
        return found
    return invite


async def street_of_code(session: AsyncSession, *, organisation_id: int, code: str) -> Street:
    """The street a neighbour code belongs to (typed codes forgive case, spaces and dashes)."""
    normalised = codes.normalise_code(code)
    street = await session.scalar(
        select(Street)
        .join(NeighbourInvite, NeighbourInvite.street_id == Street.id)
        .where(NeighbourInvite.code == normalised, Street.organisation_id == organisation_id)
    )
    if street is None or not normalised:
        raise NotFound("neighbours.code_unknown")
    if street.status in CLOSED:
        raise Conflict("neighbours.street_closed")
    return street


def write_invite_files(*, link: str, street: Street, directory: Path) -> tuple[Path, Path]:
    """The QR code (PNG) and the A5 card (PDF) in ``directory``; returns both paths."""
    from bot.services import invite_card

    directory.mkdir(parents=True, exist_ok=True)
    stem = f"street-{street.id}-{link.rsplit('=', 1)[-1]}"
    png, pdf = directory / f"{stem}.png", directory / f"{stem}.pdf"
    png.write_bytes(invite_card.qr_png(link))
    pdf.write_bytes(invite_card.card_pdf(link=link, street=street_label(street)))
    return png, pdf


# --- subscriptions -----------------------------------------------------------------------


async def is_subscribed(session: AsyncSession, person: Person, street_id: int) -> bool:
    found = await session.scalar(
        select(StreetSubscription.id).where(
            StreetSubscription.person_id == person.id, StreetSubscription.street_id == street_id
        )
    )
    return found is not None


async def subscribe(
    session: AsyncSession, *, person: Person, street: Street, now: dt.datetime | None = None
) -> bool:
    """Subscribe ``person`` to the street's news; False when they already were."""
    if street.organisation_id != person.organisation_id:
        raise NotFound("neighbours.code_unknown")
    if street.status in CLOSED:
        raise Conflict("neighbours.street_closed")
    if await is_subscribed(session, person, street.id):
        return False
    try:
        async with session.begin_nested():
            session.add(
                StreetSubscription(street_id=street.id, person_id=person.id, created_at=_now(now))
            )
            await session.flush()
    except IntegrityError:  # the same link opened twice at once
        return False
    return True


async def unsubscribe(session: AsyncSession, *, person: Person, street_id: int) -> bool:
    """Stop one street's news: the subscription row goes. False when there was none."""
    row = await session.scalar(
        select(StreetSubscription).where(
            StreetSubscription.person_id == person.id, StreetSubscription.street_id == street_id
        )
    )
    if row is None:
        return False
    if row.helped_by_id is not None:
        # The news written for this neighbour on the helper's chat: not sent any more, and
        # the copies (with the neighbour's initials and house number) go.
        from bot.services.street_news import helped_delivery_keys

        await session.execute(
            delete(Delivery)
            .where(
                Delivery.person_id == row.helped_by_id,
                Delivery.key.like(helped_delivery_keys(person.id)),
            )
            .execution_options(synchronize_session=False)
        )
    await session.delete(row)
    await session.flush()
    return True


async def streets_to_offer(
    session: AsyncSession, *, helper: Person, person: Person
) -> list[Street]:
    """Streets a helper can subscribe a neighbour to without a code: the helper's own (as
    gangmaker or subscriber), open, that the neighbour does not get yet."""
    own = select(StreetSubscription.street_id).where(StreetSubscription.person_id == helper.id)
    member = select(StreetMembership.street_id).where(StreetMembership.person_id == helper.id)
    already = select(StreetSubscription.street_id).where(StreetSubscription.person_id == person.id)
    return list(
        await session.scalars(
            select(Street)
            .where(
                Street.organisation_id == helper.organisation_id,
                Street.status.not_in(CLOSED),
                or_(Street.id.in_(own), Street.id.in_(member)),
                Street.id.not_in(already),
            )
            .order_by(Street.name, Street.id)
            .limit(9)
        )
    )


async def my_subscriptions(session: AsyncSession, person: Person) -> list[Street]:
    return list(
        await session.scalars(
            select(Street)
            .join(StreetSubscription, StreetSubscription.street_id == Street.id)
            .where(StreetSubscription.person_id == person.id, Street.status.not_in(CLOSED))
            .order_by(Street.name, Street.id)
        )
    )


# --- tips --------------------------------------------------------------------------------


def clean_tip(text: str) -> str:
    tip = clean_text(text or "").strip()
    if len(tip) < TIP_MIN:
        raise InvalidInput("neighbours.tip_too_short", min=TIP_MIN)
    if len(tip) > TIP_MAX:
        raise InvalidInput("neighbours.tip_too_long", max=TIP_MAX)
    return tip


async def tips_today(session: AsyncSession, person: Person, *, now: dt.datetime) -> int:
    return int(
        await session.scalar(
            select(func.count(NeighbourTip.id)).where(
                NeighbourTip.person_id == person.id,
                NeighbourTip.created_at >= now - dt.timedelta(days=1),
            )
        )
        or 0
    )


async def prune_tip_counts(session: AsyncSession, *, now: dt.datetime | None = None) -> int:
    """Forget tip counts older than a day (the retention job); returns how many."""
    result = await session.execute(
        delete(NeighbourTip)
        .where(NeighbourTip.created_at < _now(now) - dt.timedelta(days=1))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def send_tip(
    session: AsyncSession,
    *,
    person: Person,
    street_id: int,
    text: str,
    now: dt.datetime | None = None,
) -> int:
    """Deliver a neighbour's tip to each gangmaker of the street; returns how many."""
    now = _now(now)
    tip = clean_tip(text)
    street = await session.get(Street, street_id)
    if street is None or not await is_subscribed(session, person, street_id):
        raise NotAllowed("neighbours.not_subscribed")
    if await tips_today(session, person, now=now) >= TIPS_PER_DAY:
        raise Conflict("neighbours.too_many_tips", max=TIPS_PER_DAY)
    session.add(NeighbourTip(person_id=person.id, created_at=now))
    gangmakers = list(
        await session.scalars(
            select(Person)
            .join(StreetMembership, StreetMembership.person_id == Person.id)
            .where(
                StreetMembership.street_id == street_id,
                StreetMembership.is_gangmaker.is_(True),
                Person.id != person.id,
            )
            .order_by(Person.id)
        )
    )
    label = street_label(street)
    # One token per tip; the keys do not say who sent it.
    token = secrets.token_hex(6)  # 12 characters

    def write(t: Translator) -> str:
        return "\n\n".join(
            [
                t._("A tip from a neighbour in {street}:", street=label),
                tip,
                t._("Sent through the street invite. We do not know who sent it."),
            ]
        )

    for gangmaker in gangmakers:
        key = f"tip:{token}:{gangmaker.id}"
        await notify.notify(session, person=gangmaker, key=key, text=write, now=now)
    return len(gangmakers)
