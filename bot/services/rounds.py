"""Campaign rounds: announcing them, their windows and which are open.

A round belongs to the campaign year in which it opens, counted in the organisation's time zone
(a round opening at 00:30 on 1 January in Amsterdam belongs to the new year although it is still
31 December in UTC). Windows of rounds may overlap; an organisation has at most
``Organisation.max_rounds_per_year`` rounds per campaign year.

Error keys (with their parameters):

- ``NotAllowed("perm.not_leader")``: only an admin or a project leader (of any area or theme)
  manages rounds.
- ``NotFound("round.not_found")``: no such round in the actor's organisation (update).
- ``InvalidInput("round.name_nl_required")``: the Dutch name is missing or blank.
- ``InvalidInput("round.name_too_long", language=..., max=120)``: a name is longer than ``max``.
- ``InvalidInput("round.theme_unknown", theme=...)``: not one of :class:`RoundTheme`.
- ``InvalidInput("round.window_invalid")``: the round does not open before it closes.
- ``InvalidInput("round.max_invalid")``: the maximum amount is not a positive number of cents.
- ``Conflict("round.too_many", max=N, year=...)``: the campaign year already has ``N`` rounds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, NotFound
from bot.models import Organisation, Person, Round, RoundTheme, utcnow
from bot.services import audit, permissions

NAME_MAX = 120
OFFER_MAX = 40


def require_round_manager(person: Person) -> None:
    """Admins and every project leader (of an area or a theme) may announce and change
    rounds."""
    permissions.require_leader(person)


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    # A naive time is a programming error (parsers give aware times), not a person's mistake.
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return utcnow() if now is None else _aware(now, "now")


def campaign_year(opens_at: dt.datetime, timezone: str) -> int:
    """The campaign year of a round: the year in which it opens, in the organisation's zone."""
    return _aware(opens_at, "opens_at").astimezone(ZoneInfo(timezone)).year


def _clean_names(names: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for language, value in names.items():
        text = " ".join((value or "").split())
        if not text:
            continue
        if len(text) > NAME_MAX:
            raise InvalidInput("round.name_too_long", language=language, max=NAME_MAX)
        cleaned[language.strip().lower()] = text
    if "nl" not in cleaned:
        raise InvalidInput("round.name_nl_required")
    return cleaned


def _clean_theme(theme: RoundTheme | str) -> RoundTheme:
    try:
        return RoundTheme(theme)
    except ValueError:
        raise InvalidInput("round.theme_unknown", theme=str(theme)) from None


def _clean_offers(offers: Iterable[str]) -> list[str]:
    # Keys like "cleaning_kit"; order kept, blanks and repeats dropped.
    seen: list[str] = []
    for offer in offers:
        key = offer.strip()[:OFFER_MAX]
        if key and key not in seen:
            seen.append(key)
    return seen


def _check_window(opens_at: dt.datetime, closes_at: dt.datetime) -> None:
    if not opens_at < closes_at:
        raise InvalidInput("round.window_invalid")


def _check_max(max_amount_cents: int) -> None:
    if isinstance(max_amount_cents, bool) or max_amount_cents <= 0:
        raise InvalidInput("round.max_invalid")


async def _locked_organisation(session: AsyncSession, organisation_id: int) -> Organisation:
    # Lock the organisation row (PostgreSQL) so two leaders cannot both add the fifth round.
    await session.execute(
        select(Organisation.id).where(Organisation.id == organisation_id).with_for_update()
    )
    org = await session.get(Organisation, organisation_id)
    assert org is not None  # a person always belongs to an existing organisation
    return org


async def _check_year_quota(
    session: AsyncSession, org: Organisation, year: int, *, except_round_id: int | None = None
) -> None:
    query = select(func.count(Round.id)).where(Round.organisation_id == org.id, Round.year == year)
    if except_round_id is not None:
        query = query.where(Round.id != except_round_id)
    count = await session.scalar(query) or 0
    if count >= org.max_rounds_per_year:
        raise Conflict("round.too_many", max=org.max_rounds_per_year, year=year)


async def _audit(
    session: AsyncSession,
    *,
    actor: Person,
    action: str,
    item: Round,
    now: dt.datetime,
    **details: Any,
) -> None:
    entry = await audit.record(
        session,
        actor=actor,
        action=action,
        object_type="round",
        object_id=item.id,
        organisation_id=item.organisation_id,
        **details,
    )
    entry.at = now  # the service's clock, so the log agrees with the row it describes
    await session.flush()


async def create_round(
    session: AsyncSession,
    *,
    actor: Person,
    names: dict[str, str],
    theme: RoundTheme | str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    max_amount_cents: int,
    in_kind_offers: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> Round:
    """Announce a round. Windows may overlap other rounds; the year has a maximum of rounds."""
    now = _now(now)
    require_round_manager(actor)
    clean_names = _clean_names(names)
    clean_theme = _clean_theme(theme)
    opens_at = _aware(opens_at, "opens_at")
    closes_at = _aware(closes_at, "closes_at")
    _check_window(opens_at, closes_at)
    _check_max(max_amount_cents)
    org = await _locked_organisation(session, actor.organisation_id)
    year = campaign_year(opens_at, org.timezone)
    await _check_year_quota(session, org, year)

    item = Round(
        organisation_id=org.id,
        year=year,
        names=clean_names,
        theme=clean_theme,
        opens_at=opens_at,
        closes_at=closes_at,
        max_amount_cents=max_amount_cents,
        in_kind_offers=_clean_offers(in_kind_offers),
        created_at=now,
    )
    session.add(item)
    await session.flush()
    await _audit(
        session,
        actor=actor,
        action="round.created",
        item=item,
        now=now,
        year=year,
        name=clean_names["nl"],
        max_amount_cents=max_amount_cents,
    )
    return item


async def get_round(session: AsyncSession, *, actor: Person, round_id: int) -> Round:
    """A round of the actor's organisation, or ``NotFound("round.not_found")``."""
    item = await session.get(Round, round_id)
    if item is None or item.organisation_id != actor.organisation_id:
        raise NotFound("round.not_found")
    return item


async def update_round(
    session: AsyncSession,
    *,
    actor: Person,
    round_id: int,
    names: dict[str, str] | None = None,
    theme: RoundTheme | str | None = None,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    max_amount_cents: int | None = None,
    in_kind_offers: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> Round:
    """Change a round; ``None`` keeps a field. The same checks as :func:`create_round` apply to
    the result, and moving the round into another campaign year counts against that year."""
    now = _now(now)
    require_round_manager(actor)
    item = await get_round(session, actor=actor, round_id=round_id)
    new_names = _clean_names(names) if names is not None else item.names
    new_theme = _clean_theme(theme) if theme is not None else item.theme
    new_opens = _aware(opens_at, "opens_at") if opens_at is not None else item.opens_at
    new_closes = _aware(closes_at, "closes_at") if closes_at is not None else item.closes_at
    _check_window(new_opens, new_closes)
    new_max = max_amount_cents if max_amount_cents is not None else item.max_amount_cents
    _check_max(new_max)
    org = await _locked_organisation(session, item.organisation_id)
    year = campaign_year(new_opens, org.timezone)
    if year != item.year:
        await _check_year_quota(session, org, year, except_round_id=item.id)

    new_offers = (
        _clean_offers(in_kind_offers) if in_kind_offers is not None else item.in_kind_offers
    )
    before = {
        "names": item.names,
        "theme": item.theme.value,
        "opens_at": item.opens_at.isoformat(),
        "closes_at": item.closes_at.isoformat(),
        "max_amount_cents": item.max_amount_cents,
        "in_kind_offers": item.in_kind_offers,
    }
    item.names = new_names
    item.theme = new_theme
    item.opens_at = new_opens
    item.closes_at = new_closes
    item.max_amount_cents = new_max
    item.in_kind_offers = new_offers
    item.year = year
    after = {
        "names": new_names,
        "theme": new_theme.value,
        "opens_at": new_opens.isoformat(),
        "closes_at": new_closes.isoformat(),
        "max_amount_cents": new_max,
        "in_kind_offers": new_offers,
    }
    changed = {key: after[key] for key in after if after[key] != before[key]}
    await session.flush()
    await _audit(session, actor=actor, action="round.updated", item=item, now=now, changed=changed)
    return item


def is_open(round_: Round, now: dt.datetime) -> bool:
    """Requests can be made from ``opens_at`` up to (not including) ``closes_at``."""
    now = _aware(now, "now")
    return round_.opens_at <= now < round_.closes_at


def days_left(round_: Round, now: dt.datetime) -> int:
    """Whole days until the round closes, rounded up (for "nog 3 dagen" reminders).

    A round closing in 30 hours has 2 days left, one closing in 5 hours 1; 0 once closed. The
    count is in elapsed time, so a daylight-saving change moves it by at most an hour.
    """
    remaining = round_.closes_at - _aware(now, "now")
    if remaining <= dt.timedelta(0):
        return 0
    return math.ceil(remaining / dt.timedelta(days=1))


async def open_rounds(session: AsyncSession, organisation_id: int, now: dt.datetime) -> list[Round]:
    """Rounds open at ``now``, the one closing first first."""
    now = _aware(now, "now")
    result = await session.scalars(
        select(Round)
        .where(
            Round.organisation_id == organisation_id,
            Round.opens_at <= now,
            Round.closes_at > now,
        )
        .order_by(Round.closes_at, Round.id)
    )
    return list(result)


async def rounds_of_year(session: AsyncSession, organisation_id: int, year: int) -> list[Round]:
    """The rounds of one campaign year, in the order they open."""
    result = await session.scalars(
        select(Round)
        .where(Round.organisation_id == organisation_id, Round.year == year)
        .order_by(Round.opens_at, Round.id)
    )
    return list(result)


async def next_round(session: AsyncSession, organisation_id: int, now: dt.datetime) -> Round | None:
    """The first round that opens after ``now``, if one is planned."""
    return await session.scalar(
        select(Round)
        .where(Round.organisation_id == organisation_id, Round.opens_at > now)
        .order_by(Round.opens_at, Round.id)
        .limit(1)
    )
