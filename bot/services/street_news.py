"""Street news: a gangmaker's message to the street's subscribed neighbours, each in their
own language.

A gangmaker picks a pre-translated template (:data:`TEMPLATES`: street party, clean-up day,
Lief & Leed pot, street meeting, work hut, cancelled because of the weather) and fills its slots
(date, time, place), or writes their own text. The template is rendered per recipient with
*their* translator (date and time in their language); an own text is sent as written, with a
line in the recipient's language saying it was not translated.

:func:`send_news` stores one :class:`StreetNews` and queues one :class:`Delivery` per recipient
with the text rendered in their language (key ``news:<news>:<person>``, one bulk insert as the
announcement fan-out does, so a retry adds nothing); the delivery engine sends them (quiet hours
respected) and the terminal chat shows them at the person's next turn. Recipients: the
street's subscribers who gave consent and did not send STOP, except the sender.

A neighbour subscribed on a helper's phone (assisted mode, ``StreetSubscription.helped_by_id``)
gets the news in *their* language on the *helper's* chat: the delivery row is the helper's
(their address, their quiet hours), keyed ``news:<news>:<neighbour>``, and starts with a line
in the helper's language saying for whom it is ("For your neighbour A.B., nr 12"). It is held
back while the neighbour or the helper sent STOP.

Error keys (``bot.errors`` type, key, parameters):

- ``NotAllowed("perm.not_your_street")``: only the street's gangmakers send its news.
- ``InvalidInput("street_news.template_unknown")``: not a key of :data:`TEMPLATES`.
- ``InvalidInput("street_news.slot_missing")``: a slot the template needs was not given.
- ``InvalidInput("date.in_past")`` / ``InvalidInput("date.too_far", max_days=366)``: the date.
- ``InvalidInput("street_news.place_too_short", min=2)`` /
  ``InvalidInput("street_news.place_too_long", max=80)``: the place.
- ``InvalidInput("street_news.text_too_short", min=2)`` /
  ``InvalidInput("street_news.text_too_long", max=800)``: an own text.
- ``Conflict("street_news.no_subscribers")``: nobody would get it.
- ``Conflict("street_news.too_many", max=3)``: the street sent that many news today already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.conversation.sanitize import clean_text
from bot.conversation.words import Command, command_word
from bot.errors import Conflict, InvalidInput
from bot.i18n import Translator, lazy, translator
from bot.i18n.lazy import LazyText
from bot.models import (
    ChannelIdentity,
    DeliveryStatus,
    Organisation,
    Person,
    Street,
    StreetNews,
    StreetSubscription,
    utcnow,
)
from bot.parsing.dates import check_date_window
from bot.services import permissions
from bot.services.announcements import INSERT_CHUNK, best_identities, insert_ignoring_duplicates
from bot.services.neighbours import street_label

PLACE_MIN, PLACE_MAX = 2, 80
TEXT_MIN, TEXT_MAX = 2, 800
MAX_DAYS_AHEAD = 366
NEWS_PER_DAY = 3


@dataclass(frozen=True)
class Template:
    key: str
    label: LazyText  # a list row (≤ 24 characters)
    text: LazyText  # placeholders: the slots
    slots: tuple[str, ...]  # in the order they are asked: "date", "time", "place"


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            "party",
            lazy.pgettext("row", "Street party"),
            lazy._(
                "Street party! On {date} from {time} we celebrate together at {place}."
                " Everyone is welcome."
            ),
            ("date", "time", "place"),
        ),
        Template(
            "cleanup",
            lazy.pgettext("row", "Clean-up day"),
            lazy._(
                "Clean-up day: on {date} at {time} we clean the street together. We start at"
                " {place}. Come and help, even for an hour!"
            ),
            ("date", "time", "place"),
        ),
        Template(
            "liefleed",
            lazy.pgettext("row", "Lief & Leed pot"),
            lazy._(
                "Lief & Leed: our street has a small pot for a gift when a neighbour has a happy"
                " or sad moment. Do you know someone? Come by on {date} at {time} at {place},"
                " or send us a tip."
            ),
            ("date", "time", "place"),
        ),
        Template(
            "meeting",
            lazy.pgettext("row", "Street meeting"),
            lazy._(
                "Street meeting on {date} at {time} at {place}. We talk about plans for our"
                " street. Everyone is welcome."
            ),
            ("date", "time", "place"),
        ),
        Template(
            "work_hut",
            lazy.pgettext("row", "Work hut arrives"),
            lazy._(
                "The work hut comes to our street on {date}. From {time} you can borrow tools"
                " at {place}."
            ),
            ("date", "time", "place"),
        ),
        Template(
            "weather",
            lazy.pgettext("row", "Cancelled: weather"),
            lazy._(
                "Cancelled because of the weather: the activity on {date} does not go on. We"
                " will tell you the new date."
            ),
            ("date",),
        ),
    )
}


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or utcnow()).astimezone(dt.UTC)


# --- checking what the gangmaker typed ----------------------------------------------------


def template_of(key: str) -> Template:
    template = TEMPLATES.get(key)
    if template is None:
        raise InvalidInput("street_news.template_unknown")
    return template


def check_date(day: dt.date, *, today: dt.date) -> dt.date:
    check_date_window(day, today=today, allow_past=False, max_days_ahead=MAX_DAYS_AHEAD)
    return day


def clean_place(text: str) -> str:
    place = " ".join(clean_text(text or "").split())
    if len(place) < PLACE_MIN:
        raise InvalidInput("street_news.place_too_short", min=PLACE_MIN)
    if len(place) > PLACE_MAX:
        raise InvalidInput("street_news.place_too_long", max=PLACE_MAX)
    return place


def clean_free_text(text: str) -> str:
    body = clean_text(text or "").strip()
    if len(body) < TEXT_MIN:
        raise InvalidInput("street_news.text_too_short", min=TEXT_MIN)
    if len(body) > TEXT_MAX:
        raise InvalidInput("street_news.text_too_long", max=TEXT_MAX)
    return body


def check_slots(template: Template, slots: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """The slots the template needs, checked: ``date`` (ISO), ``time`` (minutes), ``place``."""
    clean: dict[str, Any] = {}
    for slot in template.slots:
        value = slots.get(slot)
        if value is None:
            raise InvalidInput("street_news.slot_missing")
        if slot == "date":
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            clean["date"] = check_date(day, today=today).isoformat()
        elif slot == "time":
            minutes = int(value)
            if not 0 <= minutes < 24 * 60:
                raise InvalidInput("time.invalid", hour=minutes // 60, minute=minutes % 60)
            clean["time"] = minutes
        else:
            clean["place"] = clean_place(str(value))
    return clean


# --- rendering ----------------------------------------------------------------------------


def render(
    t: Translator,
    *,
    street: str,
    template: str | None,
    slots: dict[str, Any],
    free_text: str | None,
) -> str:
    """The message as one recipient reads it, in ``t``'s language."""
    header = t._("News from your street {street}:", street=street)
    if template is None:
        note = t._("Written by your gangmaker, not translated.")
        return f"{header}\n\n{free_text or ''}\n\n({note})"
    params: dict[str, Any] = {}
    if "date" in slots:
        params["date"] = t.date(dt.date.fromisoformat(str(slots["date"])), format="full")
    if "time" in slots:
        params["time"] = t.time(int(slots["time"]))
    if "place" in slots:
        params["place"] = slots["place"]
    return f"{header}\n\n{t.tr(template_of(template).text, **params)}"


# --- recipients and sending ---------------------------------------------------------------


def _recipients_query(street_id: int, exclude: int | None) -> Any:
    query = (
        select(Person)
        .join(StreetSubscription, StreetSubscription.person_id == Person.id)
        .where(
            StreetSubscription.street_id == street_id,
            StreetSubscription.helped_by_id.is_(None),
            Person.consent_at.is_not(None),
            Person.announcements_opt_out.is_(False),
        )
        .order_by(Person.id)
    )
    if exclude is not None:
        query = query.where(Person.id != exclude)
    return query


_Helper = aliased(Person)


def _helped_query(street_id: int) -> Any:
    """(neighbour, helper) of the street's assisted subscriptions that may get news."""
    return (
        select(Person, _Helper)
        .join(StreetSubscription, StreetSubscription.person_id == Person.id)
        .join(_Helper, _Helper.id == StreetSubscription.helped_by_id)
        .where(
            StreetSubscription.street_id == street_id,
            Person.consent_at.is_not(None),
            Person.announcements_opt_out.is_(False),
            _Helper.consent_at.is_not(None),
            _Helper.announcements_opt_out.is_(False),
        )
        .order_by(Person.id)
    )


async def recipients(
    session: AsyncSession, street_id: int, *, exclude: int | None = None
) -> list[Person]:
    """Subscribed neighbours with their own chat who gave consent and did not send STOP."""
    return list(await session.scalars(_recipients_query(street_id, exclude)))


async def helped_recipients(session: AsyncSession, street_id: int) -> list[tuple[Person, Person]]:
    """Neighbours subscribed on a helper's phone, with that helper: ``(neighbour, helper)``."""
    return [(row[0], row[1]) for row in (await session.execute(_helped_query(street_id))).all()]


async def count_recipients(
    session: AsyncSession, street_id: int, *, exclude: int | None = None
) -> int:
    """Everybody who would get the news: own chats and neighbours on a helper's phone."""
    total = 0
    for query in (_recipients_query(street_id, exclude), _helped_query(street_id)):
        sub = query.with_only_columns(Person.id).order_by(None)
        total += int(await session.scalar(select(func.count()).select_from(sub.subquery())) or 0)
    return total


def neighbour_label(person: Person) -> str:
    """ "A.B." for the initials "AB": how the helper recognises the neighbour."""
    letters = list(person.first_name or "?")
    return ".".join(letters) + "."


def helped_header(t: Translator, neighbour: Person) -> str:
    """The first lines of a neighbour's news on the helper's chat, in the helper's language."""
    return "\n".join(
        [
            t._(
                "For your neighbour {neighbour}, nr {house}:",
                neighbour=neighbour_label(neighbour),
                house=neighbour.house_number or "?",
            ),
            t._(
                "To stop this for them, type {assist}.",
                assist=command_word(Command.ASSIST, t.language),
            ),
        ]
    )


async def send_news(
    session: AsyncSession,
    *,
    actor: Person,
    street: Street,
    template: str | None = None,
    slots: dict[str, Any] | None = None,
    free_text: str | None = None,
    today: dt.date,
    now: dt.datetime | None = None,
) -> StreetNews:
    """Store the news and queue it for every recipient, each in their own language."""
    now = _now(now)
    await permissions.require_gangmaker_of(session, actor, street)
    if template is not None:
        clean_slots, text = check_slots(template_of(template), slots or {}, today=today), None
    else:
        clean_slots, text = {}, clean_free_text(free_text or "")
    today_count = await session.scalar(
        select(func.count(StreetNews.id)).where(
            StreetNews.street_id == street.id, StreetNews.created_at >= now - dt.timedelta(days=1)
        )
    )
    if (today_count or 0) >= NEWS_PER_DAY:
        raise Conflict("street_news.too_many", max=NEWS_PER_DAY)
    people = await recipients(session, street.id, exclude=actor.id)
    helped = await helped_recipients(session, street.id)
    if not people and not helped:
        raise Conflict("street_news.no_subscribers")
    news = StreetNews(
        street_id=street.id,
        created_by_id=actor.id,
        template=template,
        slots=clean_slots,
        free_text=text,
        recipients=len(people) + len(helped),
        sent_at=now,
        created_at=now,
    )
    session.add(news)
    await session.flush()
    label = street_label(street)
    org = await session.get(Organisation, street.organisation_id)
    zone = org.timezone if org is not None else "Europe/Amsterdam"
    texts: dict[str, str] = {}  # rendered once per language

    def text_in(language: str) -> str:
        if language not in texts:
            texts[language] = render(
                translator(language, zone),
                street=label,
                template=template,
                slots=clean_slots,
                free_text=text,
            )
        return texts[language]

    identities = best_identities(
        (
            await session.execute(
                select(
                    ChannelIdentity.id,
                    ChannelIdentity.person_id,
                    ChannelIdentity.preferred,
                    ChannelIdentity.last_inbound_at,
                ).where(
                    ChannelIdentity.person_id.in_(
                        [p.id for p in people] + [h.id for _, h in helped]
                    ),
                    ChannelIdentity.reachable.is_(True),
                )
            )
        ).all()
    )
    rows = []
    # (whose news, whose chat, the text): own chats, then neighbours on a helper's phone.
    targets = [(person, person, text_in(person.language)) for person in people]
    for neighbour, helper in helped:
        header = helped_header(translator(helper.language, zone), neighbour)
        targets.append((neighbour, helper, f"{header}\n\n{text_in(neighbour.language)}"))
    for person, chat, body in targets:
        identity = identities.get(chat.id)
        rows.append(
            {
                "key": delivery_key(news.id, person.id),
                "person_id": chat.id,
                "announcement_id": None,
                "reminder_id": None,
                "identity_id": identity.id if identity is not None else None,
                "body": body,
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": now,
                "urgent": False,
                "created_at": now,
            }
        )
    # One bulk insert (a repeated send adds nothing: the keys are unique); the delivery engine
    # holds each row until the person's quiet hours end.
    statement = insert_ignoring_duplicates(session)
    for offset in range(0, len(rows), INSERT_CHUNK):
        await session.execute(statement, rows[offset : offset + INSERT_CHUNK])
    return news


def delivery_key(news_id: int, person_id: int) -> str:
    """One row per news and reader (for a helped neighbour: the neighbour, on the helper's
    chat)."""
    return f"news:{news_id}:{person_id}"


def helped_delivery_keys(person_id: int) -> str:
    """A LIKE pattern for every news row of this (helped) neighbour."""
    return f"news:%:{person_id}"
