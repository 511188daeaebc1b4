"""Campaign rounds: who may announce them, their checks, the campaign year and open windows."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.models import AuditEntry, Organisation, Person, Role, Round, RoundTheme
from bot.services import rounds
from tests import factories as f

NOW = f.NOW  # Tuesday 12 May 2026, 10:00 UTC (12:00 in Amsterdam)
DAY = dt.timedelta(days=1)
UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    org: Organisation
    leader: Person
    admin: Person
    gangmaker: Person
    payout: Person
    outsider_leader: Person  # a leader of another organisation


@pytest.fixture
async def world(session: AsyncSession) -> World:
    org = await f.organisation(session)
    area = await f.area(session, org)
    point = await f.payout_point(session, org, area)
    other = await f.organisation(session, "schiedam")
    other_area = await f.area(session, other, "Centrum")
    return World(
        org=org,
        leader=await f.person(session, org, "Leider", roles=((Role.LEADER, area.id),)),
        admin=await f.person(session, org, "Admin", roles=((Role.ADMIN, None),)),
        gangmaker=await f.person(session, org, "Fatima"),
        payout=await f.person(session, org, "Kassa", roles=((Role.PAYOUT, point.id),)),
        outsider_leader=await f.person(
            session, other, "Elders", roles=((Role.LEADER, other_area.id),)
        ),
    )


async def create(session: AsyncSession, actor: Person, **kw: Any) -> Round:
    args: dict[str, Any] = {
        "names": {"nl": "Voorjaarsronde", "en": "Spring round"},
        "theme": RoundTheme.GENERAL,
        "opens_at": at(2026, 3, 15),
        "closes_at": at(2026, 7, 10),
        "max_amount_cents": 25000,
        "now": NOW,
    }
    args.update(kw)
    return await rounds.create_round(session, actor=actor, **args)


async def db_state(session: AsyncSession) -> tuple[list[Any], int]:
    """Every round row and the number of audit entries: what a refusal must leave alone."""
    await session.flush()
    rows = (await session.execute(select(Round.__table__).order_by(Round.id))).all()
    audits = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return list(rows), audits


# --- create --------------------------------------------------------------------------------


async def test_leader_creates_round(session: AsyncSession, world: World) -> None:
    item = await create(
        session,
        world.leader,
        names={"nl": "  Zomer\tronde ", "tr": "Yaz turu", "ar": " "},
        theme="december",
        in_kind_offers=["cleaning_kit", " flower_bulbs ", "cleaning_kit", ""],
    )
    item_id = item.id
    stored = await session.get(Round, item_id, populate_existing=True)
    assert stored is not None
    assert stored.organisation_id == world.org.id
    assert stored.names == {"nl": "Zomer ronde", "tr": "Yaz turu"}  # blank Arabic name dropped
    assert stored.theme == RoundTheme.DECEMBER
    assert stored.year == 2026
    assert stored.opens_at == at(2026, 3, 15)
    assert stored.closes_at == at(2026, 7, 10)
    assert stored.max_amount_cents == 25000
    assert stored.in_kind_offers == ["cleaning_kit", "flower_bulbs"]
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "round.created"))
    assert entry is not None
    assert entry.actor_person_id == world.leader.id
    assert entry.object_id == item_id
    assert entry.organisation_id == world.org.id
    assert entry.at == NOW


async def test_admin_creates_round(session: AsyncSession, world: World) -> None:
    item = await create(session, world.admin)
    assert item.id is not None


@pytest.mark.parametrize("who", ["gangmaker", "payout"])
async def test_only_leaders_and_admins_create_rounds(
    session: AsyncSession, world: World, who: str
) -> None:
    before = await db_state(session)
    with pytest.raises(NotAllowed) as err:
        await create(session, getattr(world, who))
    assert err.value.key == "perm.not_leader"
    assert await db_state(session) == before


@pytest.mark.parametrize(
    ("kw", "key", "params"),
    [
        ({"names": {"en": "Spring round"}}, "round.name_nl_required", {}),
        ({"names": {"nl": "  ", "en": "Spring"}}, "round.name_nl_required", {}),
        ({"names": {}}, "round.name_nl_required", {}),
        ({"names": {"nl": "x" * 121}}, "round.name_too_long", {"language": "nl", "max": 120}),
        ({"theme": "carnival"}, "round.theme_unknown", {"theme": "carnival"}),
        ({"closes_at": at(2026, 3, 15)}, "round.window_invalid", {}),  # opens == closes
        ({"closes_at": at(2026, 3, 14)}, "round.window_invalid", {}),
        ({"max_amount_cents": 0}, "round.max_invalid", {}),
        ({"max_amount_cents": -1}, "round.max_invalid", {}),
    ],
)
async def test_create_refuses_invalid_input(
    session: AsyncSession, world: World, kw: dict[str, Any], key: str, params: dict[str, Any]
) -> None:
    before = await db_state(session)
    with pytest.raises(InvalidInput) as err:
        await create(session, world.leader, **kw)
    assert (err.value.key, err.value.params) == (key, params)
    assert await db_state(session) == before


async def test_name_of_exactly_120_characters_is_fine(session: AsyncSession, world: World) -> None:
    item = await create(session, world.leader, names={"nl": "x" * 120})
    assert item.names == {"nl": "x" * 120}


async def test_smallest_window_and_amount_are_fine(session: AsyncSession, world: World) -> None:
    opens = at(2026, 3, 15)
    item = await create(
        session,
        world.leader,
        opens_at=opens,
        closes_at=opens + dt.timedelta(microseconds=1),
        max_amount_cents=1,
    )
    assert item.max_amount_cents == 1


async def test_naive_times_are_a_programming_error(session: AsyncSession, world: World) -> None:
    with pytest.raises(ValueError):
        await create(session, world.leader, opens_at=dt.datetime(2026, 3, 15))


async def test_campaign_year_is_the_local_year_of_opening(
    session: AsyncSession, world: World
) -> None:
    # 31 December 23:30 UTC is already 1 January 00:30 in Amsterdam: the new campaign year.
    item = await create(
        session, world.leader, opens_at=at(2026, 12, 31, 23, 30), closes_at=at(2027, 2, 1)
    )
    assert item.year == 2027
    # 31 December 22:30 UTC is 23:30 in Amsterdam: still the old year.
    item = await create(
        session, world.leader, opens_at=at(2026, 12, 31, 22, 30), closes_at=at(2027, 2, 1)
    )
    assert item.year == 2026


async def test_campaign_year_follows_the_organisations_zone(session: AsyncSession) -> None:
    org = await f.organisation(session, "nieuw-amsterdam", timezone="America/New_York")
    area = await f.area(session, org)
    leader = await f.person(session, org, roles=((Role.LEADER, area.id),))
    # 1 January 03:00 UTC is still 31 December in New York.
    item = await create(session, leader, opens_at=at(2027, 1, 1, 3), closes_at=at(2027, 2, 1))
    assert item.year == 2026


async def test_overlapping_windows_are_allowed(session: AsyncSession, world: World) -> None:
    green = await create(
        session,
        world.leader,
        names={"nl": "Maak je straat groener"},
        opens_at=at(2026, 2, 15),
        closes_at=at(2026, 7, 10),
    )
    spring = await create(
        session,
        world.leader,
        names={"nl": "Voorjaarsronde"},
        opens_at=at(2026, 3, 15),
        closes_at=at(2026, 7, 10),
    )
    themed = await create(
        session,
        world.leader,
        names={"nl": "Groen & Schoon"},
        theme=RoundTheme.GREEN,
        opens_at=at(2026, 5, 1),
        closes_at=at(2026, 6, 30),
    )
    assert [r.id for r in await rounds.open_rounds(session, world.org.id, NOW)] == [
        themed.id,  # closes first
        green.id,
        spring.id,
    ]


async def test_the_round_after_the_maximum_is_refused(session: AsyncSession, world: World) -> None:
    for month in (2, 3, 7, 12):  # four rounds, the default maximum
        await create(session, world.leader, opens_at=at(2026, month, 1), closes_at=at(2026, 12, 28))
    before = await db_state(session)
    with pytest.raises(Conflict) as err:
        await create(session, world.leader, opens_at=at(2026, 5, 1), closes_at=at(2026, 6, 1))
    assert (err.value.key, err.value.params) == ("round.too_many", {"max": 4, "year": 2026})
    assert await db_state(session) == before
    # Another campaign year has room of its own; so does another organisation.
    await create(session, world.leader, opens_at=at(2027, 2, 1), closes_at=at(2027, 3, 1))
    await create(session, world.outsider_leader, opens_at=at(2026, 5, 1), closes_at=at(2026, 6, 1))


async def test_the_maximum_is_the_organisations_own(session: AsyncSession, world: World) -> None:
    world.org.max_rounds_per_year = 2
    await create(session, world.leader)
    await create(session, world.leader)
    with pytest.raises(Conflict) as err:
        await create(session, world.leader)
    assert err.value.params == {"max": 2, "year": 2026}


# --- update --------------------------------------------------------------------------------


async def test_update_changes_only_what_is_given(session: AsyncSession, world: World) -> None:
    item = await create(session, world.leader)
    await rounds.update_round(
        session,
        actor=world.admin,
        round_id=item.id,
        closes_at=at(2026, 8, 1),
        max_amount_cents=17500,
        now=NOW + DAY,
    )
    item_id = item.id
    stored = await session.get(Round, item_id, populate_existing=True)
    assert stored is not None
    assert stored.closes_at == at(2026, 8, 1)
    assert stored.max_amount_cents == 17500
    assert stored.names == {"nl": "Voorjaarsronde", "en": "Spring round"}
    assert stored.opens_at == at(2026, 3, 15)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "round.updated"))
    assert entry is not None
    assert entry.actor_person_id == world.admin.id
    assert entry.at == NOW + DAY
    assert set(entry.details["changed"]) == {"closes_at", "max_amount_cents"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"names": {"en": "Spring"}}, "round.name_nl_required"),
        ({"closes_at": at(2026, 3, 1)}, "round.window_invalid"),  # before the stored opening
        ({"opens_at": at(2026, 7, 10)}, "round.window_invalid"),  # equal to the stored closing
        ({"max_amount_cents": 0}, "round.max_invalid"),
        ({"theme": "nope"}, "round.theme_unknown"),
    ],
)
async def test_update_applies_the_same_checks(
    session: AsyncSession, world: World, kw: dict[str, Any], key: str
) -> None:
    item = await create(session, world.leader)
    before = await db_state(session)
    with pytest.raises(InvalidInput) as err:
        await rounds.update_round(session, actor=world.leader, round_id=item.id, **kw)
    assert err.value.key == key
    assert await db_state(session) == before


async def test_update_by_others_is_refused(session: AsyncSession, world: World) -> None:
    item = await create(session, world.leader)
    before = await db_state(session)
    with pytest.raises(NotAllowed) as denied:
        await rounds.update_round(
            session, actor=world.gangmaker, round_id=item.id, max_amount_cents=1
        )
    assert denied.value.key == "perm.not_leader"
    with pytest.raises(NotFound) as missing:
        await rounds.update_round(
            session, actor=world.outsider_leader, round_id=item.id, max_amount_cents=1
        )
    assert missing.value.key == "round.not_found"
    with pytest.raises(NotFound):
        await rounds.update_round(session, actor=world.leader, round_id=999_999)
    assert await db_state(session) == before


async def test_update_into_a_full_year_is_refused(session: AsyncSession, world: World) -> None:
    world.org.max_rounds_per_year = 2
    first = await create(session, world.leader)
    await create(session, world.leader)
    later = await create(session, world.leader, opens_at=at(2027, 3, 1), closes_at=at(2027, 4, 1))
    # Changing a round within its full year is fine: it already counts.
    await rounds.update_round(
        session, actor=world.leader, round_id=first.id, opens_at=at(2026, 3, 1)
    )
    before = await db_state(session)
    with pytest.raises(Conflict) as err:
        await rounds.update_round(
            session, actor=world.leader, round_id=later.id, opens_at=at(2026, 3, 1)
        )
    assert (err.value.key, err.value.params) == ("round.too_many", {"max": 2, "year": 2026})
    assert await db_state(session) == before
    # Moving a round out of the full year makes room.
    moved = await rounds.update_round(
        session,
        actor=world.leader,
        round_id=first.id,
        opens_at=at(2027, 1, 5),
        closes_at=at(2027, 2, 1),
    )
    assert moved.year == 2027
    await create(session, world.leader)


# --- open windows --------------------------------------------------------------------------


async def test_is_open_boundaries(session: AsyncSession, world: World) -> None:
    item = await create(session, world.leader, opens_at=at(2026, 3, 15), closes_at=at(2026, 7, 10))
    tick = dt.timedelta(microseconds=1)
    assert not rounds.is_open(item, at(2026, 3, 15) - tick)
    assert rounds.is_open(item, at(2026, 3, 15))
    assert rounds.is_open(item, at(2026, 7, 10) - tick)
    assert not rounds.is_open(item, at(2026, 7, 10))
    # The same instant written in another zone is the same instant.
    amsterdam_opening = at(2026, 3, 15).astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert rounds.is_open(item, amsterdam_opening)


async def test_open_rounds_lists_only_open_rounds_of_the_organisation(
    session: AsyncSession, world: World
) -> None:
    past = await create(session, world.leader, opens_at=NOW - 10 * DAY, closes_at=NOW)
    future = await create(session, world.leader, opens_at=NOW + DAY, closes_at=NOW + 9 * DAY)
    now_open = await create(session, world.leader, opens_at=NOW, closes_at=NOW + DAY)
    await create(session, world.outsider_leader, opens_at=NOW - DAY, closes_at=NOW + DAY)
    assert [r.id for r in await rounds.open_rounds(session, world.org.id, NOW)] == [now_open.id]
    assert [r.id for r in await rounds.open_rounds(session, world.org.id, NOW - DAY)] == [past.id]
    assert [r.id for r in await rounds.open_rounds(session, world.org.id, NOW + 2 * DAY)] == [
        future.id
    ]


async def test_rounds_of_year_in_opening_order(session: AsyncSession, world: World) -> None:
    december = await create(
        session, world.leader, opens_at=at(2026, 12, 1), closes_at=at(2026, 12, 31)
    )
    spring = await create(session, world.leader, opens_at=at(2026, 3, 1), closes_at=at(2026, 7, 1))
    await create(session, world.leader, opens_at=at(2027, 3, 1), closes_at=at(2027, 7, 1))
    await create(session, world.outsider_leader, opens_at=at(2026, 3, 1), closes_at=at(2026, 4, 1))
    found = await rounds.rounds_of_year(session, world.org.id, 2026)
    assert [r.id for r in found] == [spring.id, december.id]
    assert await rounds.rounds_of_year(session, world.org.id, 2025) == []


@pytest.mark.parametrize(
    ("before_close", "expected"),
    [
        (dt.timedelta(days=30), 30),
        (dt.timedelta(days=3), 3),
        (dt.timedelta(hours=30), 2),
        (dt.timedelta(hours=5), 1),
        (dt.timedelta(microseconds=1), 1),
        (dt.timedelta(0), 0),
        (-dt.timedelta(days=2), 0),
    ],
)
async def test_days_left(
    session: AsyncSession, world: World, before_close: dt.timedelta, expected: int
) -> None:
    item = await create(session, world.leader, opens_at=at(2026, 3, 15), closes_at=at(2026, 7, 10))
    assert rounds.days_left(item, at(2026, 7, 10) - before_close) == expected


def test_docstring_lists_every_error_key() -> None:
    doc = rounds.__doc__ or ""
    source = inspect.getsource(rounds).replace(doc, "")
    raised = set(
        re.findall(r'(?:InvalidInput|NotFound|NotAllowed|Conflict)\(\s*"([a-z_.]+)"', source)
    )
    assert raised  # the pattern still finds them
    assert {key for key in raised if f'"{key}"' not in doc} == set()
