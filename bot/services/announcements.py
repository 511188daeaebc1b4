"""Announcements: one message from a project leader to many people, each in their language.

A leader writes the text per language (Dutch required; a person whose language has no text
gets the Dutch one, and the preview counts them), picks an audience, looks at the preview
(text per language and how many people get it) and schedules it for now or a later time.
Life cycle::

    DRAFT ──schedule──> SCHEDULED ──fan out at send_at──> SENDING ──nothing left──> DONE
      └───────cancel────────┴──> CANCELLED          (cancel only until the fan-out starts)

The fan-out (:func:`fan_out`, run by the worker when ``send_at`` has come) resolves the
audience *then*, so people who joined in between are included, and writes one
:class:`~bot.models.Delivery` row per person into the outbox with the unique key
``ann:<announcement>:<person>`` in bulk (``INSERT ... ON CONFLICT DO NOTHING``): a second
fan-out adds nothing. The delivery engine (:mod:`bot.delivery.engine`) sends the rows.

Audience (stored as JSON on the announcement): everyone in the organisation, or people matching
every kind given, any value within a kind: ``areas`` (area ids: members of a pending or active
street there), ``themes`` (members of such a street with that theme), ``roles`` (granted roles;
``gangmaker`` and ``resident`` also by street membership), ``languages`` (the person's language).
Areas and themes apply to the same street: ``areas=[Delfshaven], themes=[liefleed]`` means the
Lief & Leed streets of Delfshaven. Always left out, and counted: people who never gave consent
(``no_consent``), who sent STOP (``opted_out``) and who have no reachable chat address
(``unreachable``).

Leaders (of any area) and admins announce to anyone in their organisation; the command line
acts as the operator (``actor=None``).

Error keys (``bot.errors`` type, key, parameters):

- ``NotAllowed("perm.not_leader")``: only project leaders and admins announce.
- ``NotFound("announcement.not_found")``: no such announcement in the organisation.
- ``InvalidInput("announcement.dutch_required")``: no (or a blank) Dutch text.
- ``InvalidInput("announcement.language_unknown", language=...)``: a text in a language we do
  not know.
- ``InvalidInput("announcement.text_too_long", language=..., max=4096)``: longer than a chat
  message may be.
- ``InvalidInput("announcement.audience_invalid", part=...)``: an audience part that is not
  ``all``, ``area:``, ``theme:``, ``role:`` or ``lang:`` (command line) or not a known key.
- ``NotFound("announcement.area_unknown", area=...)``: no such area in the organisation.
- ``InvalidInput("announcement.theme_unknown", theme=...)``: not a street theme.
- ``InvalidInput("announcement.role_unknown", role=...)``: not a role.
- ``InvalidInput("announcement.send_at_too_far", max_days=366)``: scheduled too far ahead.
- ``InvalidInput("announcement.send_at_past")``: a time chosen in a chat that has already passed
  (:func:`check_send_at`; the command line and scripts read a past time as "now").
- ``IllegalTransition("announcement.not_schedulable", status=...)``: only a draft or a scheduled
  announcement can be (re)scheduled.
- ``IllegalTransition("announcement.not_cancellable", status=...)``: sending has started (or it
  was cancelled before).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.timing import not_quiet, zone
from bot.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.i18n import LANGUAGE_NAMES
from bot.models import (
    Announcement,
    AnnouncementStatus,
    Area,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    Organisation,
    Person,
    Role,
    RoleGrant,
    Round,
    Street,
    StreetMembership,
    StreetStatus,
    Theme,
    utcnow,
)
from bot.services import audit, permissions

TEXT_MAX = 4096  # Telegram's and WhatsApp's limit for one text message
SCHEDULE_MAX_DAYS = 366
INSERT_CHUNK = 2000
DUTCH = "nl"
LIVE_STREETS = (StreetStatus.ACTIVE, StreetStatus.PENDING)
_THEME_COLUMNS = {
    Theme.LIEFLEED: Street.theme_liefleed,
    Theme.GREEN: Street.theme_green,
    Theme.CLEAN: Street.theme_clean,
}
_THEME_WORDS = {"lief&leed": "liefleed", "lief-leed": "liefleed", "groen": "green"}
S = AnnouncementStatus


# --- audience --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for; nothing given means everyone in the organisation."""

    area_ids: tuple[int, ...] = ()
    themes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return not (self.area_ids or self.themes or self.roles or self.languages)

    def to_json(self) -> dict[str, object]:
        if self.everyone:
            return {"all": True}
        parts = {
            "areas": self.area_ids,
            "themes": self.themes,
            "roles": self.roles,
            "languages": self.languages,
        }
        return {key: list(values) for key, values in parts.items() if values}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        unknown = set(data) - {"all", "areas", "themes", "roles", "languages"}
        if unknown:
            raise InvalidInput("announcement.audience_invalid", part=sorted(unknown)[0])
        return cls(
            area_ids=tuple(int(a) for a in data.get("areas", ())),
            themes=tuple(str(t) for t in data.get("themes", ())),
            roles=tuple(str(r) for r in data.get("roles", ())),
            languages=tuple(str(c) for c in data.get("languages", ())),
        )


def _unique(values: Any) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


async def clean_audience(
    session: AsyncSession, organisation_id: int, audience: Audience
) -> Audience:
    """Check every part against the organisation and the vocabularies; duplicates dropped."""
    themes = []
    for theme in audience.themes:
        word = _THEME_WORDS.get(theme.strip().lower(), theme.strip().lower())
        if word not in {t.value for t in Theme}:
            raise InvalidInput("announcement.theme_unknown", theme=theme)
        themes.append(word)
    roles = []
    for role in audience.roles:
        word = role.strip().lower()
        if word not in {r.value for r in Role}:
            raise InvalidInput("announcement.role_unknown", role=role)
        roles.append(word)
    languages = []
    for code in audience.languages:
        word = code.strip().lower()
        if word not in LANGUAGE_NAMES:
            raise InvalidInput("announcement.language_unknown", language=code)
        languages.append(word)
    area_ids = _unique(audience.area_ids)
    if area_ids:
        known = set(
            await session.scalars(
                select(Area.id).where(
                    Area.organisation_id == organisation_id, Area.id.in_(area_ids)
                )
            )
        )
        for area_id in area_ids:
            if area_id not in known:
                raise NotFound("announcement.area_unknown", area=area_id)
    return Audience(area_ids, _unique(themes), _unique(roles), _unique(languages))


async def parse_audience(session: AsyncSession, organisation_id: int, parts: list[str]) -> Audience:
    """The command line's ``all``, ``area:NAME``, ``theme:NAME``, ``role:NAME``, ``lang:CODE``."""
    area_ids: list[int] = []
    themes: list[str] = []
    roles: list[str] = []
    languages: list[str] = []
    for part in parts:
        kind, _, value = part.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if kind == "all" and not value:
            continue
        if not value:
            raise InvalidInput("announcement.audience_invalid", part=part)
        if kind == "area":
            area_id = await session.scalar(
                select(Area.id).where(
                    Area.organisation_id == organisation_id,
                    or_(
                        func.lower(Area.name) == value.lower(),
                        Area.id == (int(value) if value.isdigit() else -1),
                    ),
                )
            )
            if area_id is None:
                raise NotFound("announcement.area_unknown", area=value)
            area_ids.append(area_id)
        elif kind == "theme":
            themes.append(value)
        elif kind == "role":
            roles.append(value)
        elif kind in ("lang", "language"):
            languages.append(value)
        else:
            raise InvalidInput("announcement.audience_invalid", part=part)
    return await clean_audience(
        session,
        organisation_id,
        Audience(tuple(area_ids), tuple(themes), tuple(roles), tuple(languages)),
    )


def _audience_people(organisation_id: int, audience: Audience) -> Select[Any]:
    """People of the organisation matching the audience (consent and opt-out not applied)."""
    query = select(
        Person.id,
        Person.language,
        Person.consent_at,
        Person.announcements_opt_out,
        Person.quiet_start_minute,
        Person.quiet_end_minute,
    ).where(Person.organisation_id == organisation_id)

    def member_of(*conditions: Any) -> Any:
        return exists().where(
            StreetMembership.person_id == Person.id,
            Street.id == StreetMembership.street_id,
            Street.status.in_(LIVE_STREETS),
            *conditions,
        )

    street_conditions = []
    if audience.area_ids:
        street_conditions.append(Street.area_id.in_(audience.area_ids))
    if audience.themes:
        street_conditions.append(
            or_(*(_THEME_COLUMNS[Theme(t)].is_(True) for t in audience.themes))
        )
    if street_conditions:
        query = query.where(member_of(*street_conditions))
    if audience.roles:
        roles = [Role(r) for r in audience.roles]
        if Role.LEADER in roles:
            roles.append(Role.THEME_LEAD)  # project leaders: of an area or of a theme
        ways = [exists().where(RoleGrant.person_id == Person.id, RoleGrant.role.in_(roles))]
        if Role.GANGMAKER in roles:
            ways.append(member_of(StreetMembership.is_gangmaker.is_(True)))
        if Role.RESIDENT in roles:
            ways.append(member_of(StreetMembership.is_gangmaker.is_(False)))
        query = query.where(or_(*ways))
    if audience.languages:
        query = query.where(Person.language.in_(audience.languages))
    return query


@dataclass
class Recipient:
    person_id: int
    language: str
    identity_id: int
    channel: Channel
    quiet_start_minute: int | None
    quiet_end_minute: int | None
    # When the person last wrote from this address (WhatsApp's 24-hour window).
    last_inbound_at: dt.datetime | None = None


@dataclass
class ResolvedAudience:
    recipients: list[Recipient]
    opted_out: int = 0
    unreachable: int = 0
    no_consent: int = 0

    def counts(self, texts: dict[str, str]) -> dict[str, int]:
        return {
            "recipients": len(self.recipients),
            "opted_out": self.opted_out,
            "unreachable": self.unreachable,
            "no_consent": self.no_consent,
            "fallback": sum(1 for r in self.recipients if r.language not in texts),
        }


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def identity_rank(identity: Any) -> tuple[bool, dt.datetime, int]:
    """Which reachable address of a person to write to: the preferred one, then the one they
    wrote from last, then the newest (the order :mod:`bot.services.notify` uses too)."""
    return (bool(identity.preferred), identity.last_inbound_at or _NEVER, identity.id)


def best_identities(identities: Iterable[Any]) -> dict[int, Any]:
    """Person id -> their best identity among ``identities`` (rows with ``person_id``, ``id``,
    ``preferred`` and ``last_inbound_at``; pass only reachable ones)."""
    best: dict[int, Any] = {}
    for identity in identities:
        current = best.get(identity.person_id)
        if current is None or identity_rank(identity) > identity_rank(current):
            best[identity.person_id] = identity
    return best


async def resolve_audience(
    session: AsyncSession, organisation_id: int, audience: Audience
) -> ResolvedAudience:
    """The people an announcement reaches now, each with the chat address it goes to.

    The address is the best reachable identity: the preferred one first, then the one they
    wrote from last (the same choice as direct notifications make).
    """
    people_query = _audience_people(organisation_id, audience)
    people = (await session.execute(people_query)).all()
    person_ids = people_query.with_only_columns(Person.id).scalar_subquery()
    identities = (
        await session.execute(
            select(
                ChannelIdentity.person_id,
                ChannelIdentity.id,
                ChannelIdentity.preferred,
                ChannelIdentity.last_inbound_at,
                ChannelIdentity.channel,
            ).where(ChannelIdentity.person_id.in_(person_ids), ChannelIdentity.reachable.is_(True))
        )
    ).all()
    best = best_identities(identities)
    result = ResolvedAudience(recipients=[])
    for person_id, language, consent_at, opted_out, quiet_start, quiet_end in people:
        if consent_at is None:
            result.no_consent += 1
        elif opted_out:
            result.opted_out += 1
        elif person_id not in best:
            result.unreachable += 1
        else:
            identity = best[person_id]
            result.recipients.append(
                Recipient(
                    person_id,
                    language,
                    identity.id,
                    identity.channel,
                    quiet_start,
                    quiet_end,
                    identity.last_inbound_at,
                )
            )
    result.recipients.sort(key=lambda r: r.person_id)
    return result


@dataclass(frozen=True)
class AudienceCount:
    """:func:`resolve_audience`'s numbers without the people: what the composer shows."""

    recipients: int = 0
    opted_out: int = 0
    unreachable: int = 0
    no_consent: int = 0
    # The languages of the recipients, sorted.
    languages: tuple[str, ...] = ()


async def count_audience(
    session: AsyncSession, organisation_id: int, audience: Audience
) -> AudienceCount:
    """The same figures as :func:`resolve_audience`, counted in the database: one grouped
    query (a few rows: consent x opt-out x reachable x language), whatever the audience's
    size."""
    reachable = (
        exists()
        .where(ChannelIdentity.person_id == Person.id, ChannelIdentity.reachable.is_(True))
        .correlate(Person)
    )
    people = (
        _audience_people(organisation_id, audience)
        .with_only_columns(
            Person.consent_at.is_(None).label("no_consent"),
            Person.announcements_opt_out.label("opted_out"),
            reachable.label("reachable"),
            Person.language.label("language"),
        )
        .subquery()
    )
    rows = await session.execute(
        select(
            people.c.no_consent,
            people.c.opted_out,
            people.c.reachable,
            people.c.language,
            func.count(),
        ).group_by(people.c.no_consent, people.c.opted_out, people.c.reachable, people.c.language)
    )
    counts = Counter[str]()
    languages = set()
    # The order of resolve_audience: no consent, then STOP, then no reachable address.
    for no_consent, opted_out, is_reachable, language, n in rows:
        if no_consent:
            counts["no_consent"] += n
        elif opted_out:
            counts["opted_out"] += n
        elif not is_reachable:
            counts["unreachable"] += n
        else:
            counts["recipients"] += n
            languages.add(language)
    return AudienceCount(
        recipients=counts["recipients"],
        opted_out=counts["opted_out"],
        unreachable=counts["unreachable"],
        no_consent=counts["no_consent"],
        languages=tuple(sorted(languages)),
    )


# --- composing -------------------------------------------------------------------------------


def clean_texts(texts: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for code, text in texts.items():
        language = code.strip().lower()
        if language not in LANGUAGE_NAMES:
            raise InvalidInput("announcement.language_unknown", language=code)
        body = (text or "").strip()
        if not body:
            continue
        if len(body) > TEXT_MAX:
            raise InvalidInput("announcement.text_too_long", language=language, max=TEXT_MAX)
        cleaned[language] = body
    if DUTCH not in cleaned:
        raise InvalidInput("announcement.dutch_required")
    return cleaned


def text_for(texts: dict[str, str], language: str) -> str:
    """The text a person with ``language`` gets: their own, else the Dutch one."""
    return texts.get(language) or texts[DUTCH]


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def _require_announcer(actor: Person | None, organisation_id: int) -> None:
    if actor is None:
        return  # the operator, on the command line
    if actor.organisation_id != organisation_id or not permissions.is_leader(actor):
        raise NotAllowed("perm.not_leader")


def _single_area(announcement: Announcement) -> int | None:
    """The area of an announcement for one area (its leaders read it in the audit log)."""
    areas = (announcement.audience or {}).get("areas") or []
    return int(areas[0]) if len(areas) == 1 else None


def _send_time(send_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if send_at is None:
        return now
    if send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    send_at = send_at.astimezone(dt.UTC)
    if send_at - now > dt.timedelta(days=SCHEDULE_MAX_DAYS):
        raise InvalidInput("announcement.send_at_too_far", max_days=SCHEDULE_MAX_DAYS)
    return max(send_at, now)


def check_send_at(send_at: dt.datetime, *, now: dt.datetime | None = None) -> dt.datetime:
    """A time a person chose to send at: not in the past (a minute's grace for the typing), not
    more than a year ahead. Returns it as aware UTC."""
    now = _now(now)
    if send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    send_at = send_at.astimezone(dt.UTC)
    if send_at < now - dt.timedelta(minutes=1):
        raise InvalidInput("announcement.send_at_past")
    return _send_time(send_at, now)


@dataclass(frozen=True)
class RoundMoment:
    """A moment a round's own announcement can go: ``opening`` or ``closing`` (a week, or
    ``closing_days``, before it closes)."""

    round_id: int
    kind: str
    when: dt.datetime
    names: dict[str, str]


async def round_moments(
    session: AsyncSession,
    *,
    organisation_id: int,
    closing_days: int = 7,
    limit: int = 4,
    now: dt.datetime | None = None,
) -> list[RoundMoment]:
    """The coming moments for a round's own announcements (the ones not yet passed), soonest
    first: what :func:`plan_round_announcements` plans, offered one by one in the chat."""
    now = _now(now)
    rounds = await session.scalars(
        select(Round)
        .where(Round.organisation_id == organisation_id, Round.closes_at > now)
        .order_by(Round.opens_at, Round.id)
        .limit(10)
    )
    moments = []
    for round_ in rounds:
        for kind, when in (
            ("opening", round_.opens_at),
            ("closing", round_.closes_at - dt.timedelta(days=closing_days)),
        ):
            if when >= now:
                moments.append(RoundMoment(round_.id, kind, when, dict(round_.names)))
    moments.sort(key=lambda m: (m.when, m.round_id))
    return moments[:limit]


async def recent_announcements(
    session: AsyncSession, *, organisation_id: int, limit: int = 8
) -> list[Announcement]:
    """The organisation's latest announcements, newest first (leaders follow them)."""
    return list(
        await session.scalars(
            select(Announcement)
            .where(Announcement.organisation_id == organisation_id)
            .order_by(Announcement.id.desc())
            .limit(limit)
        )
    )


async def create_announcement(
    session: AsyncSession,
    *,
    organisation_id: int,
    actor: Person | None,
    texts: dict[str, str],
    audience: Audience | None = None,
    round_id: int | None = None,
    now: dt.datetime | None = None,
) -> Announcement:
    """A DRAFT announcement; nothing is sent until it is scheduled."""
    now = _now(now)
    _require_announcer(actor, organisation_id)
    cleaned = clean_texts(texts)
    audience = await clean_audience(session, organisation_id, audience or Audience())
    if round_id is not None:
        found = await session.scalar(
            select(Round.id).where(Round.id == round_id, Round.organisation_id == organisation_id)
        )
        if found is None:
            raise NotFound("round.not_found")
    item = Announcement(
        organisation_id=organisation_id,
        created_by_id=actor.id if actor else None,
        round_id=round_id,
        texts=cleaned,
        audience=audience.to_json(),
        status=S.DRAFT,
        audience_counts={},
        created_at=now,
    )
    session.add(item)
    await session.flush()
    return item


async def get_announcement(
    session: AsyncSession, *, organisation_id: int, announcement_id: int
) -> Announcement:
    item = await session.get(Announcement, announcement_id, populate_existing=True)
    if item is None or item.organisation_id != organisation_id:
        raise NotFound("announcement.not_found")
    return item


async def schedule_announcement(
    session: AsyncSession,
    *,
    announcement: Announcement,
    actor: Person | None,
    send_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Announcement:
    """Send at ``send_at`` (None or a past time: right away, at the worker's next tick)."""
    now = _now(now)
    _require_announcer(actor, announcement.organisation_id)
    if announcement.status not in (S.DRAFT, S.SCHEDULED):
        raise IllegalTransition("announcement.not_schedulable", status=announcement.status)
    when = _send_time(send_at, now)
    result = await session.execute(
        update(Announcement)
        .where(Announcement.id == announcement.id, Announcement.status.in_([S.DRAFT, S.SCHEDULED]))
        .values(status=S.SCHEDULED, send_at=when)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(announcement)
        raise IllegalTransition("announcement.not_schedulable", status=announcement.status)
    await session.refresh(announcement)
    await audit.record(
        session,
        actor=actor,
        action="announcement.scheduled",
        object_type="announcement",
        object_id=announcement.id,
        organisation_id=announcement.organisation_id,
        area_id=_single_area(announcement),
        send_at=when.isoformat(),
        audience=announcement.audience,
        languages=sorted(announcement.texts),
    )
    return announcement


async def announce(
    session: AsyncSession,
    *,
    organisation_id: int,
    actor: Person | None,
    texts: dict[str, str],
    audience: Audience | None = None,
    send_at: dt.datetime | None = None,
    round_id: int | None = None,
    now: dt.datetime | None = None,
) -> Announcement:
    """Create and schedule in one go (the command line and scripts)."""
    item = await create_announcement(
        session,
        organisation_id=organisation_id,
        actor=actor,
        texts=texts,
        audience=audience,
        round_id=round_id,
        now=now,
    )
    return await schedule_announcement(
        session, announcement=item, actor=actor, send_at=send_at, now=now
    )


async def cancel_announcement(
    session: AsyncSession,
    *,
    announcement: Announcement,
    actor: Person | None,
    now: dt.datetime | None = None,
) -> Announcement:
    """Cancel a draft or scheduled announcement; once the fan-out started it is too late."""
    now = _now(now)
    _require_announcer(actor, announcement.organisation_id)
    # Conditional: a worker that starts the fan-out at this moment wins or loses cleanly.
    result = await session.execute(
        update(Announcement)
        .where(Announcement.id == announcement.id, Announcement.status.in_([S.DRAFT, S.SCHEDULED]))
        .values(status=S.CANCELLED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(announcement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition("announcement.not_cancellable", status=announcement.status)
    await audit.record(
        session,
        actor=actor,
        action="announcement.cancelled",
        object_type="announcement",
        object_id=announcement.id,
        organisation_id=announcement.organisation_id,
        area_id=_single_area(announcement),
    )
    return announcement


async def plan_round_announcements(
    session: AsyncSession,
    *,
    round_: Round,
    actor: Person | None,
    opening_texts: dict[str, str] | None = None,
    closing_texts: dict[str, str] | None = None,
    audience: Audience | None = None,
    closing_days: int = 7,
    now: dt.datetime | None = None,
) -> list[Announcement]:
    """A round's own announcements: at its opening and ``closing_days`` before it closes.

    Moments already passed are left out (no late "the round opens" message)."""
    now = _now(now)
    planned = []
    for texts, when in (
        (opening_texts, round_.opens_at),
        (closing_texts, round_.closes_at - dt.timedelta(days=closing_days)),
    ):
        if texts and when >= now:
            planned.append(
                await announce(
                    session,
                    organisation_id=round_.organisation_id,
                    actor=actor,
                    texts=texts,
                    audience=audience,
                    send_at=when,
                    round_id=round_.id,
                    now=now,
                )
            )
    return planned


# --- preview ---------------------------------------------------------------------------------


@dataclass
class LanguagePreview:
    language: str
    recipients: int
    text: str
    # True when these people get the Dutch text because there is none in their language.
    fallback: bool


@dataclass
class Preview:
    recipients: int
    languages: list[LanguagePreview]
    opted_out: int
    unreachable: int
    no_consent: int
    # WhatsApp recipients by form: {"free": n, "template": n, "skipped": n} (when asked for).
    whatsapp_forms: dict[str, int] = field(default_factory=dict)

    @property
    def fallback(self) -> int:
        return sum(p.recipients for p in self.languages if p.fallback)


async def preview_announcement(
    session: AsyncSession,
    *,
    announcement: Announcement,
    whatsapp_templates: Any = None,
    now: dt.datetime | None = None,
) -> Preview:
    """What each language group would read, and how many people it reaches right now.

    With ``whatsapp_templates`` (:class:`bot.channels.whatsapp.window.Templates`) the preview
    also counts the WhatsApp recipients per form: free-form text (wrote in the last 24 hours),
    an approved template, or skipped (no template in their language, no fallback)."""
    return await preview_texts(
        session,
        organisation_id=announcement.organisation_id,
        texts=announcement.texts,
        audience=Audience.from_json(announcement.audience),
        whatsapp_templates=whatsapp_templates,
        now=now,
    )


async def preview_texts(
    session: AsyncSession,
    *,
    organisation_id: int,
    texts: dict[str, str],
    audience: Audience,
    whatsapp_templates: Any = None,
    now: dt.datetime | None = None,
) -> Preview:
    """The preview of an announcement still being written (nothing stored): the texts and the
    audience are checked as :func:`create_announcement` checks them."""
    texts = clean_texts(texts)
    audience = await clean_audience(session, organisation_id, audience)
    resolved = await resolve_audience(session, organisation_id, audience)
    by_language = Counter(r.language for r in resolved.recipients)
    languages = [
        LanguagePreview(
            language=code,
            recipients=count,
            text=text_for(texts, code),
            fallback=code not in texts,
        )
        for code, count in sorted(by_language.items(), key=lambda item: (-item[1], item[0]))
    ]
    forms: Counter[str] = Counter()
    if whatsapp_templates is not None:
        from bot.channels.whatsapp.window import form_for

        at = _now(now)
        for r in resolved.recipients:
            if r.channel is Channel.WHATSAPP:
                form = form_for(
                    last_inbound_at=r.last_inbound_at,
                    now=at,
                    language=r.language,
                    kind="announcement",
                    templates=whatsapp_templates,
                )
                forms["skipped" if form.kind == "skip" else form.kind] += 1
    return Preview(
        recipients=len(resolved.recipients),
        languages=languages,
        opted_out=resolved.opted_out,
        unreachable=resolved.unreachable,
        no_consent=resolved.no_consent,
        whatsapp_forms=dict(forms),
    )


# --- fan-out into the outbox -----------------------------------------------------------------


def delivery_key(announcement_id: int, person_id: int) -> str:
    return f"ann:{announcement_id}:{person_id}"


def insert_ignoring_duplicates(session: AsyncSession) -> Any:
    """``INSERT INTO delivery ... ON CONFLICT (key) DO NOTHING`` for this session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Delivery.__table__).on_conflict_do_nothing(index_elements=["key"])


@dataclass
class FanOut:
    announcement_id: int
    recipients: int
    # Rows this fan-out added (0 for a repeated fan-out of the same audience).
    added: int
    counts: dict[str, int] = field(default_factory=dict)


async def fan_out(
    session: AsyncSession, *, announcement: Announcement, now: dt.datetime | None = None
) -> FanOut | None:
    """Write one queued delivery per recipient; None when it is not (or no longer) due to go.

    A SCHEDULED announcement becomes SENDING (conditionally: of two workers, one fans out);
    a SENDING one may be fanned out again and only gets rows for people who joined since.
    Each row's first attempt is ``send_at``, or the end of the person's quiet hours (not for
    the terminal chat, which shows messages only while the person is there).
    """
    now = _now(now)
    if announcement.status == S.SCHEDULED:
        started = await session.execute(
            update(Announcement)
            .where(Announcement.id == announcement.id, Announcement.status == S.SCHEDULED)
            .values(status=S.SENDING, started_at=now)
            .execution_options(synchronize_session=False)
        )
        if started.rowcount != 1:  # type: ignore[attr-defined]
            return None
    elif announcement.status != S.SENDING:
        return None
    org = await session.get(Organisation, announcement.organisation_id)
    assert org is not None
    tz = zone(org.timezone)
    resolved = await resolve_audience(
        session, announcement.organisation_id, Audience.from_json(announcement.audience)
    )
    start = max(announcement.send_at or now, now)
    before = await _row_count(session, announcement.id)
    statement = insert_ignoring_duplicates(session)
    rows = []
    for r in resolved.recipients:
        quiet_start = r.quiet_start_minute
        quiet_end = r.quiet_end_minute
        if quiet_start is None or quiet_end is None:
            quiet_start, quiet_end = org.quiet_start_minute, org.quiet_end_minute
        if r.channel is Channel.CONSOLE:
            # The terminal chat shows it at the person's next turn: they are there anyway.
            quiet_start = quiet_end = None
        rows.append(
            {
                "key": delivery_key(announcement.id, r.person_id),
                "person_id": r.person_id,
                "announcement_id": announcement.id,
                "reminder_id": None,
                "identity_id": r.identity_id,
                "body": None,
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": not_quiet(start, tz, quiet_start, quiet_end),
                "urgent": False,
                "created_at": now,
            }
        )
    for offset in range(0, len(rows), INSERT_CHUNK):
        await session.execute(statement, rows[offset : offset + INSERT_CHUNK])
    added = await _row_count(session, announcement.id) - before
    counts = resolved.counts(announcement.texts)
    await session.execute(
        update(Announcement)
        .where(Announcement.id == announcement.id)
        .values(audience_counts=counts)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(announcement)
    return FanOut(announcement.id, len(resolved.recipients), added, counts)


async def _row_count(session: AsyncSession, announcement_id: int) -> int:
    return (
        await session.scalar(
            select(func.count(Delivery.id)).where(Delivery.announcement_id == announcement_id)
        )
        or 0
    )


async def start_due_announcements(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = 10
) -> list[FanOut]:
    """Fan out every scheduled announcement whose time has come (the worker's tick)."""
    now = _now(now)
    due = list(
        await session.scalars(
            select(Announcement)
            .where(Announcement.status == S.SCHEDULED, Announcement.send_at <= now)
            .order_by(Announcement.send_at, Announcement.id)
            .limit(limit)
        )
    )
    done = []
    for item in due:
        result = await fan_out(session, announcement=item, now=now)
        if result is not None:
            done.append(result)
    return done


def _in_progress() -> Any:
    """Rows still to be sent by a worker. Queued rows without a next attempt were handed to the
    terminal chat, which shows them at the person's next turn: not the worker's business."""
    return or_(
        Delivery.status == DeliveryStatus.SENDING,
        and_(Delivery.status == DeliveryStatus.QUEUED, Delivery.next_attempt_at.is_not(None)),
    )


async def finish_announcements(session: AsyncSession, *, now: dt.datetime | None = None) -> int:
    """SENDING announcements with nothing left in progress become DONE; returns how many."""
    now = _now(now)
    busy = exists().where(Delivery.announcement_id == Announcement.id, _in_progress())
    result = await session.execute(
        update(Announcement)
        .where(Announcement.status == S.SENDING, ~busy)
        .values(status=S.DONE, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- live counts -----------------------------------------------------------------------------


@dataclass
class DeliveryCounts:
    """Where an announcement's rows are: by status, plus why rows failed or were skipped."""

    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    # Of the queued: waiting for their time (quiet hours, a retry later) and handed to the
    # terminal chat.
    held: int = 0
    in_chat: int = 0
    # "blocked", "unreachable", "bad_request", ... -> rows (failed and skipped).
    reasons: dict[str, int] = field(default_factory=dict)
    next_attempt_at: dt.datetime | None = None

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed + self.skipped

    @property
    def finished(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def in_progress(self) -> int:
        return self.queued - self.in_chat + self.sending


def reason_of(error: str | None) -> str:
    """The stable part of ``last_error`` ("blocked: Forbidden: bot was ..." -> "blocked")."""
    return (error or "unknown").split(":", 1)[0].strip() or "unknown"


async def delivery_counts(
    session: AsyncSession, *, announcement_id: int, now: dt.datetime | None = None
) -> DeliveryCounts:
    now = _now(now)
    counts = DeliveryCounts()
    by_status = await session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .where(Delivery.announcement_id == announcement_id)
        .group_by(Delivery.status)
    )
    for status, count in by_status:
        setattr(counts, DeliveryStatus(status).value, count)
    queued = (
        await session.execute(
            select(
                func.count(Delivery.id).filter(Delivery.next_attempt_at > now),
                func.count(Delivery.id).filter(Delivery.next_attempt_at.is_(None)),
                func.min(Delivery.next_attempt_at),
            ).where(
                Delivery.announcement_id == announcement_id,
                Delivery.status == DeliveryStatus.QUEUED,
            )
        )
    ).one()
    counts.held, counts.in_chat, counts.next_attempt_at = queued[0], queued[1], queued[2]
    reasons: Counter[str] = Counter()
    failures = await session.execute(
        select(Delivery.last_error, func.count(Delivery.id))
        .where(
            Delivery.announcement_id == announcement_id,
            Delivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.SKIPPED]),
        )
        .group_by(Delivery.last_error)
    )
    for error, count in failures:
        reasons[reason_of(error)] += count
    counts.reasons = dict(reasons.most_common())
    return counts
