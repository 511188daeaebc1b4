"""Lief & Leed: pots, logging attentions, corrections, undo, views and retention."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from bot.models import (
    Area,
    Attention,
    AttentionKind,
    AuditEntry,
    LiefLeedPot,
    OccasionType,
    Organisation,
    Person,
    Role,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import liefleed
from bot.services.liefleed import (
    MAX_COST_CENTS,
    OCCASIONS,
    balance,
    correct_attention,
    log_attention,
    pot_for,
    purge_old_notes,
    recent_attentions,
    remove_attention,
    undo_last,
)
from tests import factories as f

NOW = f.NOW  # 2026-05-12 10:00 UTC, 12:00 in Amsterdam
TODAY = dt.date(2026, 5, 12)


@dataclass
class World:
    org: Organisation
    area: Area
    street: Street
    gm: Person
    gm2: Person
    other_street: Street
    other_gm: Person
    leader: Person
    resident: Person


async def make_world(session: AsyncSession, **org_kw: Any) -> World:
    org = await f.organisation(session, **org_kw)
    area = await f.area(session, org)
    gm = await f.person(session, org, "Fatima")
    gm2 = await f.person(session, org, "Kees")
    other_gm = await f.person(session, org, "Ayse")
    leader = await f.person(session, org, "Leider", roles=((Role.LEADER, area.id),))
    resident = await f.person(session, org, "Bewoner")
    street = await f.street(session, org, area, "Zaagmolenstraat", gangmakers=(gm, gm2))
    other_street = await f.street(session, org, area, "Schiedamseweg", gangmakers=(other_gm,))
    return World(org, area, street, gm, gm2, other_street, other_gm, leader, resident)


async def log(session: AsyncSession, w: World, **kw: Any) -> liefleed.LogResult:
    args: dict[str, Any] = {
        "actor": w.gm,
        "street_id": w.street.id,
        "occasion": "illness",
        "kind": AttentionKind.FLOWERS,
        "cost_cents": 1500,
        "given_on": TODAY,
        "now": NOW,
    }
    args.update(kw)
    return await log_attention(session, **args)


async def db_state(session: AsyncSession) -> list[list[tuple[Any, ...]]]:
    """Every row a Lief & Leed action can touch, read from the database."""
    state = []
    for table in (LiefLeedPot.__table__, Attention.__table__, AuditEntry.__table__):
        rows = (await session.execute(select(table).order_by(table.c.id))).all()
        state.append([tuple(row) for row in rows])
    return state


async def refused(
    session: AsyncSession,
    action: Callable[[], Awaitable[object]],
    error: type[DomainError],
    key: str,
    **params: Any,
) -> None:
    """The action raises exactly this error and leaves the database as it was."""
    before = await db_state(session)
    with pytest.raises(error) as caught:
        await action()
    assert type(caught.value) is error
    assert caught.value.key == key
    assert caught.value.params == params
    assert await db_state(session) == before


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# -- the occasion list -------------------------------------------------------------------------


def test_occasions_are_lief_then_leed_then_other_in_display_order() -> None:
    keys = list(OCCASIONS)
    lief = [k for k in keys if OCCASIONS[k] == OccasionType.LIEF]
    leed = [k for k in keys if OCCASIONS[k] == OccasionType.LEED]
    assert keys == [*lief, *leed, "other"]
    assert lief == [
        "birth",
        "wedding",
        "birthday",
        "exam",
        "new_neighbour",
        "recovery",
        "other_lief",
    ]
    assert leed == ["illness", "hospital", "loneliness", "bereavement", "accident", "other_leed"]
    assert OCCASIONS["other"] == OccasionType.OTHER
    column_width = Attention.__table__.c.occasion.type.length
    assert all(len(k) <= column_width and k == k.lower() for k in keys)


# -- logging -----------------------------------------------------------------------------------


async def test_log_creates_the_pot_once_and_stores_the_attention(session: AsyncSession) -> None:
    w = await make_world(session)
    first = await log(
        session,
        w,
        occasion="birth",
        kind=AttentionKind.GIFT,
        cost_cents=1250,
        house_number="12a",
        note="Kaartje en rompertje",
    )
    second = await log(session, w, cost_cents=500, given_on=TODAY - dt.timedelta(days=3))

    assert await count(session, LiefLeedPot) == 1
    pot = await session.scalar(select(LiefLeedPot))
    assert pot is not None
    assert (pot.street_id, pot.year, pot.amount_cents) == (w.street.id, 2026, 15000)
    a = first.attention
    assert (a.occasion, a.occasion_type, a.kind) == ("birth", OccasionType.LIEF, AttentionKind.GIFT)
    assert (a.cost_cents, a.given_on, a.house_number, a.note) == (
        1250,
        TODAY,
        "12a",
        "Kaartje en rompertje",
    )
    assert a.logged_by_id == w.gm.id and a.created_at == NOW and a.pot_id == pot.id
    assert (first.balance_after_cents, first.over_budget) == (13750, False)
    assert (second.balance_after_cents, second.over_budget) == (13250, False)
    assert second.attention.occasion_type == OccasionType.LEED
    assert second.balance == liefleed.Balance(w.street.id, 2026, 15000, 1750, 13250, 2)


async def test_pot_amount_comes_from_the_organisation(session: AsyncSession) -> None:
    w = await make_world(session, liefleed_pot_cents=20000)
    result = await log(session, w, cost_cents=2000)
    assert result.balance.pot_cents == 20000
    assert result.balance_after_cents == 18000


async def test_co_gangmaker_logs_against_the_same_pot(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w, cost_cents=1000)
    result = await log(session, w, actor=w.gm2, cost_cents=2000)
    assert result.balance.count == 2 and result.balance_after_cents == 12000
    assert await count(session, LiefLeedPot) == 1


async def test_a_free_visit_counts_as_an_entry(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w, cost_cents=1000)
    result = await log(session, w, occasion="loneliness", kind=AttentionKind.VISIT, cost_cents=0)
    assert result.attention.cost_cents == 0
    assert result.balance.count == 2
    assert result.balance_after_cents == 14000
    assert not result.over_budget
    assert (await balance(session, street_id=w.street.id, year=2026)).count == 2


async def test_going_over_the_pot_is_allowed_and_flagged(session: AsyncSession) -> None:
    w = await make_world(session)
    at_zero = await log(session, w, cost_cents=15000)
    assert (at_zero.balance_after_cents, at_zero.over_budget) == (0, False)
    over = await log(session, w, cost_cents=2500)
    assert (over.balance_after_cents, over.over_budget) == (-2500, True)
    assert await count(session, Attention) == 2
    b = await balance(session, street_id=w.street.id, year=2026)
    assert (b.pot_cents, b.spent_cents, b.left_cents, b.count) == (15000, 17500, -2500, 2)
    assert b.over_budget


async def test_kind_may_be_given_as_its_value(session: AsyncSession) -> None:
    w = await make_world(session)
    result = await log(session, w, kind="card")
    assert result.attention.kind == AttentionKind.CARD


async def test_occasion_key_is_forgiving_about_case_and_spaces(session: AsyncSession) -> None:
    w = await make_world(session)
    result = await log(session, w, occasion=" Hospital ")
    assert result.attention.occasion == "hospital"


@pytest.mark.parametrize(
    ("changes", "error", "key", "params"),
    [
        ({"occasion": "party"}, InvalidInput, "liefleed.occasion_unknown", {}),
        ({"occasion": ""}, InvalidInput, "liefleed.occasion_unknown", {}),
        ({"kind": "hug"}, InvalidInput, "liefleed.kind_unknown", {}),
        ({"cost_cents": -1}, InvalidInput, "liefleed.cost_negative", {}),
        (
            {"cost_cents": MAX_COST_CENTS + 1},
            InvalidInput,
            "liefleed.cost_too_high",
            {"max_cents": 1_000_000},
        ),
        ({"given_on": TODAY + dt.timedelta(days=1)}, InvalidInput, "liefleed.date_in_future", {}),
        (
            {"given_on": dt.date(2025, 5, 11)},
            InvalidInput,
            "liefleed.date_too_old",
            {"earliest": dt.date(2025, 5, 12)},
        ),
        ({"house_number": "Jan"}, InvalidInput, "liefleed.house_number_invalid", {}),
        ({"note": "x" * 141}, InvalidInput, "liefleed.note_too_long", {"max": 140}),
    ],
)
async def test_invalid_input_is_refused_and_changes_nothing(
    session: AsyncSession,
    changes: dict[str, Any],
    error: type[DomainError],
    key: str,
    params: dict[str, Any],
) -> None:
    w = await make_world(session)
    await refused(session, lambda: log(session, w, **changes), error, key, **params)
    assert await count(session, LiefLeedPot) == 0  # a refusal does not even open the pot


async def test_limits_themselves_are_accepted(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w, cost_cents=MAX_COST_CENTS)
    await log(session, w, given_on=dt.date(2025, 5, 12))  # exactly a year back
    await log(session, w, note="x" * 140)
    assert await count(session, Attention) == 3


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("12", "12"),
        ("12a", "12a"),
        ("12A", "12A"),
        ("12-2", "12-2"),
        ("12 bis", "12 bis"),
        ("  12   b ", "12 b"),
        ("12-2a", "12-2a"),
        ("12 B01", "12 B01"),
        ("12a-2", "12a-2"),
        ("148-III", "148-III"),
        ("１２ａ", "12a"),  # full-width digits from a phone keyboard
        ("12\u200ba", "12a"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
async def test_house_numbers_that_look_like_one_are_accepted(
    session: AsyncSession, typed: str | None, stored: str | None
) -> None:
    w = await make_world(session)
    result = await log(session, w, house_number=typed)
    assert result.attention.house_number == stored


@pytest.mark.parametrize(
    "typed",
    [
        "Jan",
        "de Vries",
        "mevrouw",
        "12 Piet",
        "12 Ed",
        "12 Jo",
        "abc12",
        "a12",
        "12345678901",
        "12 bis bis bis",
        "12, 2e etage",
        "٣٤",  # Arabic-Indic digits: not what a Dutch address uses
    ],
)
async def test_names_and_odd_text_are_not_house_numbers(session: AsyncSession, typed: str) -> None:
    w = await make_world(session)
    await refused(
        session,
        lambda: log(session, w, house_number=typed),
        InvalidInput,
        "liefleed.house_number_invalid",
    )


async def test_note_loses_control_and_invisible_characters(session: AsyncSession) -> None:
    w = await make_world(session)
    raw = "Bloemen\u200b\u200d voor\x00 de\tburen\u202e\nbij\u2028ziekte\ufeff"
    result = await log(session, w, note=raw)
    assert result.attention.note == "Bloemen voor de buren bij ziekte"
    # Invisible characters do not count towards the 140.
    result = await log(session, w, note="y" * 140 + "\u200b" * 10)
    assert result.attention.note == "y" * 140
    result = await log(session, w, note=" \u200b\n ")
    assert result.attention.note is None


async def test_only_gangmakers_of_the_street_log(session: AsyncSession) -> None:
    w = await make_world(session)
    for actor in (w.other_gm, w.leader, w.resident):
        await refused(
            session, lambda a=actor: log(session, w, actor=a), NotAllowed, "perm.not_your_street"
        )
    # And a gangmaker cannot log against someone else's street.
    await refused(
        session,
        lambda: log(session, w, street_id=w.other_street.id),
        NotAllowed,
        "perm.not_your_street",
    )


async def test_streets_of_another_organisation_are_not_found(session: AsyncSession) -> None:
    w = await make_world(session)
    org2 = await f.organisation(session, "schiedam")
    area2 = await f.area(session, org2, "Centrum")
    gm_elsewhere = await f.person(session, org2, "Piet")
    street2 = await f.street(session, org2, area2, "Hoogstraat", gangmakers=(gm_elsewhere,))
    await refused(
        session, lambda: log(session, w, street_id=street2.id), NotFound, "street.not_found"
    )
    await refused(session, lambda: log(session, w, street_id=999_999), NotFound, "street.not_found")


@pytest.mark.parametrize(
    ("liefleed_theme", "status"),
    [
        (False, StreetStatus.ACTIVE),
        (True, StreetStatus.PENDING),
        (True, StreetStatus.INACTIVE),
        (True, StreetStatus.REJECTED),
    ],
)
async def test_street_must_be_an_active_liefleed_street(
    session: AsyncSession, liefleed_theme: bool, status: StreetStatus
) -> None:
    w = await make_world(session)
    street = await f.street(
        session,
        w.org,
        w.area,
        "Mathenesserweg",
        status=status,
        gangmakers=(w.gm,),
        liefleed=liefleed_theme,
    )
    await refused(
        session,
        lambda: log(session, w, street_id=street.id),
        Conflict,
        "liefleed.street_not_liefleed",
    )


# -- the year boundary -------------------------------------------------------------------------


async def test_new_year_in_amsterdam_before_new_year_in_utc(session: AsyncSession) -> None:
    w = await make_world(session)
    # 31 Dec 23:30 UTC is already 1 January 00:30 in Amsterdam.
    new_year_local = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    new = await log(session, w, given_on=dt.date(2027, 1, 1), now=new_year_local, cost_cents=700)
    old = await log(session, w, given_on=dt.date(2026, 12, 31), now=new_year_local, cost_cents=300)
    assert new.balance.year == 2027 and new.balance_after_cents == 14300
    assert old.balance.year == 2026 and old.balance_after_cents == 14700
    assert new.attention.pot_id != old.attention.pot_id
    assert liefleed.current_year(w.org, new_year_local) == 2027
    assert (await balance(session, street_id=w.street.id, year=2027)).spent_cents == 700
    assert (await balance(session, street_id=w.street.id, year=2026)).spent_cents == 300


async def test_new_year_in_utc_is_still_old_year_in_amsterdam(session: AsyncSession) -> None:
    w = await make_world(session)
    # 31 Dec 22:30 UTC is 23:30 in Amsterdam: 1 January is still tomorrow there.
    late_evening = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    await refused(
        session,
        lambda: log(session, w, given_on=dt.date(2027, 1, 1), now=late_evening),
        InvalidInput,
        "liefleed.date_in_future",
    )
    result = await log(session, w, given_on=dt.date(2026, 12, 31), now=late_evening)
    assert result.balance.year == 2026
    assert liefleed.current_year(w.org, late_evening) == 2026


async def test_the_time_zone_is_the_organisations(session: AsyncSession) -> None:
    w = await make_world(session, timezone="America/Curacao")  # UTC-4
    evening = dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.UTC)  # 31 Dec 22:00 in Willemstad
    await refused(
        session,
        lambda: log(session, w, given_on=dt.date(2027, 1, 1), now=evening),
        InvalidInput,
        "liefleed.date_in_future",
    )
    assert (await log(session, w, given_on=dt.date(2026, 12, 31), now=evening)).balance.year == 2026


# -- pots and balances -------------------------------------------------------------------------


async def test_balance_of_an_unused_year_creates_no_pot(session: AsyncSession) -> None:
    w = await make_world(session, liefleed_pot_cents=17500)
    b = await balance(session, street_id=w.street.id, year=2026)
    assert b == liefleed.Balance(w.street.id, 2026, 17500, 0, 17500, 0)
    assert await pot_for(session, street=w.street, year=2026, create=False) is None
    assert await count(session, LiefLeedPot) == 0
    with pytest.raises(NotFound) as caught:
        await balance(session, street_id=999_999, year=2026)
    assert caught.value.key == "street.not_found"


async def test_a_pot_keeps_its_amount_when_the_setting_changes(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w, cost_cents=1000)
    w.org.liefleed_pot_cents = 20000
    await session.flush()
    assert (await balance(session, street_id=w.street.id, year=2026)).pot_cents == 15000
    assert (await balance(session, street_id=w.street.id, year=2027)).pot_cents == 20000


async def test_pot_for_reads_the_winner_after_losing_the_insert(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_world(session)
    existing = await pot_for(session, street=w.street, year=2026)
    real_find = liefleed._find_pot
    calls = 0

    async def blind_first(s: AsyncSession, street_id: int, year: int) -> LiefLeedPot | None:
        # The first look misses the pot, as when another request inserts it just after.
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real_find(s, street_id, year)

    monkeypatch.setattr(liefleed, "_find_pot", blind_first)
    pot = await pot_for(session, street=w.street, year=2026)
    assert calls == 2
    assert pot.id == existing.id
    assert await count(session, LiefLeedPot) == 1
    # The session's transaction survived the failed insert.
    monkeypatch.undo()
    assert (await log(session, w, cost_cents=100)).balance.count == 1


async def test_two_racing_requests_create_one_pot(
    sessions: async_sessionmaker[AsyncSession], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writing transaction at a time (BEGIN IMMEDIATE): no race")
    async with sessions() as setup:
        w = await make_world(setup)
        await setup.commit()
    street_id = w.street.id

    real_find = liefleed._find_pot
    both_looked = asyncio.Barrier(2)
    looks: dict[int, int] = {}

    async def look_together(s: AsyncSession, sid: int, year: int) -> LiefLeedPot | None:
        found = await real_find(s, sid, year)
        looks[id(s)] = looks.get(id(s), 0) + 1
        if looks[id(s)] == 1:
            await both_looked.wait()  # both requests saw "no pot yet" before either inserts
        return found

    monkeypatch.setattr(liefleed, "_find_pot", look_together)

    async def request(cost: int) -> tuple[int, int]:
        async with sessions() as s:
            actor = await s.get(Person, w.gm.id)
            street = await s.get(Street, street_id)
            assert actor is not None and street is not None
            pot = await pot_for(s, street=street, year=2026)
            result = await log_attention(
                s,
                actor=actor,
                street_id=street_id,
                occasion="illness",
                kind=AttentionKind.CARD,
                cost_cents=cost,
                given_on=TODAY,
                now=NOW,
            )
            await s.commit()
            return pot.id, result.attention.pot_id

    (pot_a, used_a), (pot_b, used_b) = await asyncio.wait_for(
        asyncio.gather(request(300), request(400)), timeout=60
    )
    assert pot_a == pot_b == used_a == used_b
    # Each looked once more when logging; the loser also looked again after losing the insert.
    assert sorted(looks.values()) == [2, 3]
    monkeypatch.undo()
    async with sessions() as check:
        assert await count(check, LiefLeedPot) == 1
        b = await balance(check, street_id=street_id, year=2026)
        assert (b.spent_cents, b.count) == (700, 2)


# -- corrections and removal -------------------------------------------------------------------


async def test_correct_own_entry_within_the_window(session: AsyncSession) -> None:
    w = await make_world(session)
    logged = await log(session, w, cost_cents=1500, house_number="7", note="Beterschap")
    later = NOW + dt.timedelta(days=2)
    result = await correct_attention(
        session,
        actor=w.gm,
        attention_id=logged.attention.id,
        now=later,
        cost_cents=1750,
        occasion="hospital",
        kind=AttentionKind.FOOD,
        house_number=None,
        note="Soep\u200b gebracht",
    )
    a = result.attention
    assert (a.cost_cents, a.occasion, a.occasion_type, a.kind) == (
        1750,
        "hospital",
        OccasionType.LEED,
        AttentionKind.FOOD,
    )
    assert a.house_number is None and a.note == "Soep gebracht"
    assert a.updated_at == later and a.created_at == NOW
    assert result.balance_after_cents == 13250 and not result.over_budget
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "liefleed.corrected")
    )
    assert entry is not None and entry.actor_person_id == w.gm.id
    assert entry.details == {
        "street_id": w.street.id,
        "fields": ["cost_cents", "house_number", "kind", "note", "occasion"],
    }


async def test_correcting_the_date_into_last_year_moves_it_to_that_pot(
    session: AsyncSession,
) -> None:
    w = await make_world(session)
    january = dt.datetime(2027, 1, 3, 9, 0, tzinfo=dt.UTC)
    logged = await log(session, w, given_on=dt.date(2027, 1, 2), cost_cents=900, now=january)
    result = await correct_attention(
        session,
        actor=w.gm,
        attention_id=logged.attention.id,
        now=january,
        given_on=dt.date(2026, 12, 30),
    )
    assert result.balance.year == 2026 and result.balance_after_cents == 14100
    assert (await balance(session, street_id=w.street.id, year=2027)).count == 0


async def test_correcting_nothing_changes_nothing(session: AsyncSession) -> None:
    w = await make_world(session)
    logged = await log(session, w, cost_cents=1500)
    before = await db_state(session)
    result = await correct_attention(
        session, actor=w.gm, attention_id=logged.attention.id, now=NOW, cost_cents=1500
    )
    assert result.attention.updated_at is None
    assert await db_state(session) == before


@pytest.mark.parametrize(
    ("changes", "key", "params"),
    [
        ({"occasion": "party"}, "liefleed.occasion_unknown", {}),
        ({"kind": "hug"}, "liefleed.kind_unknown", {}),
        ({"cost_cents": -5}, "liefleed.cost_negative", {}),
        ({"cost_cents": MAX_COST_CENTS + 1}, "liefleed.cost_too_high", {"max_cents": 1_000_000}),
        ({"given_on": TODAY + dt.timedelta(days=2)}, "liefleed.date_in_future", {}),
        (
            {"given_on": dt.date(2025, 5, 1)},
            "liefleed.date_too_old",
            {"earliest": dt.date(2025, 5, 13)},
        ),
        ({"house_number": "Mevr. Jansen"}, "liefleed.house_number_invalid", {}),
        ({"note": "z" * 141}, "liefleed.note_too_long", {"max": 140}),
        # A valid change next to an invalid one is not applied half.
        ({"cost_cents": 100, "note": "z" * 141}, "liefleed.note_too_long", {"max": 140}),
    ],
)
async def test_corrections_are_validated_like_logging(
    session: AsyncSession, changes: dict[str, Any], key: str, params: dict[str, Any]
) -> None:
    w = await make_world(session)
    logged = await log(session, w, house_number="3", note="Kaart")
    await refused(
        session,
        lambda: correct_attention(
            session,
            actor=w.gm,
            attention_id=logged.attention.id,
            now=NOW + dt.timedelta(days=1),
            **changes,
        ),
        InvalidInput,
        key,
        **params,
    )


async def test_someone_elses_entry_cannot_be_changed_or_removed(session: AsyncSession) -> None:
    w = await make_world(session)
    logged = await log(session, w)  # by Fatima
    attention_id = logged.attention.id
    for actor in (w.gm2, w.leader, w.other_gm):
        await refused(
            session,
            lambda a=actor: correct_attention(
                session, actor=a, attention_id=attention_id, now=NOW, cost_cents=1
            ),
            NotAllowed,
            "liefleed.not_your_entry",
        )
        await refused(
            session,
            lambda a=actor: remove_attention(session, actor=a, attention_id=attention_id, now=NOW),
            NotAllowed,
            "liefleed.not_your_entry",
        )


async def test_unknown_or_foreign_entries_are_not_found(session: AsyncSession) -> None:
    w = await make_world(session)
    logged = await log(session, w)
    org2 = await f.organisation(session, "schiedam")
    stranger = await f.person(session, org2, "Piet")
    for actor, attention_id in ((w.gm, 999_999), (stranger, logged.attention.id)):
        await refused(
            session,
            lambda a=actor, i=attention_id: remove_attention(
                session, actor=a, attention_id=i, now=NOW
            ),
            NotFound,
            "liefleed.attention_not_found",
        )


async def test_a_former_gangmaker_cannot_change_old_entries(session: AsyncSession) -> None:
    w = await make_world(session)
    logged = await log(session, w)
    for membership in await session.scalars(
        select(StreetMembership).where(StreetMembership.person_id == w.gm.id)
    ):
        await session.delete(membership)
    await session.flush()
    await refused(
        session,
        lambda: remove_attention(session, actor=w.gm, attention_id=logged.attention.id, now=NOW),
        NotAllowed,
        "perm.not_your_street",
    )


async def test_the_edit_window_is_seven_days_to_the_second(session: AsyncSession) -> None:
    w = await make_world(session)
    first = await log(session, w, cost_cents=100)
    second = await log(session, w, cost_cents=200)
    just_too_late = NOW + dt.timedelta(days=7, seconds=1)
    await refused(
        session,
        lambda: correct_attention(
            session, actor=w.gm, attention_id=first.attention.id, now=just_too_late, cost_cents=5
        ),
        Conflict,
        "liefleed.edit_window_passed",
        days=7,
    )
    await refused(
        session,
        lambda: remove_attention(
            session, actor=w.gm, attention_id=first.attention.id, now=just_too_late
        ),
        Conflict,
        "liefleed.edit_window_passed",
        days=7,
    )
    last_moment = NOW + dt.timedelta(days=7)
    fixed = await correct_attention(
        session, actor=w.gm, attention_id=first.attention.id, now=last_moment, cost_cents=5
    )
    assert fixed.attention.cost_cents == 5
    removed = await remove_attention(
        session, actor=w.gm, attention_id=second.attention.id, now=last_moment
    )
    assert removed.balance.count == 1


async def test_the_edit_window_is_the_organisations(session: AsyncSession) -> None:
    w = await make_world(session, liefleed_edit_days=3)
    logged = await log(session, w)
    await refused(
        session,
        lambda: remove_attention(
            session,
            actor=w.gm,
            attention_id=logged.attention.id,
            now=NOW + dt.timedelta(days=3, minutes=1),
        ),
        Conflict,
        "liefleed.edit_window_passed",
        days=3,
    )


async def test_remove_gives_the_money_back_and_audits_without_personal_data(
    session: AsyncSession,
) -> None:
    w = await make_world(session)
    keep = await log(session, w, cost_cents=1000)
    gone = await log(session, w, cost_cents=2500, house_number="14b", note="Bij overlijden")
    removed = await remove_attention(
        session, actor=w.gm, attention_id=gone.attention.id, now=NOW + dt.timedelta(hours=1)
    )
    assert removed.attention.id == gone.attention.id
    assert removed.balance.left_cents == 14000 and removed.balance.count == 1
    assert await session.scalar(select(Attention.id)) == keep.attention.id
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "liefleed.removed"))
    assert entry is not None
    assert (entry.actor_person_id, entry.object_type, entry.object_id) == (
        w.gm.id,
        "attention",
        gone.attention.id,
    )
    assert entry.organisation_id == w.org.id
    assert entry.details == {"street_id": w.street.id, "year": 2026, "cost_cents": 2500}
    assert "14b" not in str(entry.details) and "overlijden" not in str(entry.details)


# -- undo --------------------------------------------------------------------------------------


async def test_undo_last_removes_my_latest_entry_in_that_street(session: AsyncSession) -> None:
    w = await make_world(session)
    older = await log(session, w, cost_cents=100, now=NOW)
    mine = await log(session, w, cost_cents=200, now=NOW + dt.timedelta(minutes=5))
    # A later entry by the co-gangmaker, and one by me in a street I also run: both stay.
    theirs = await log(session, w, actor=w.gm2, cost_cents=300, now=NOW + dt.timedelta(minutes=9))
    second_street = await f.street(session, w.org, w.area, "Hooidrift", gangmakers=(w.gm,))
    elsewhere = await log(
        session, w, street_id=second_street.id, cost_cents=400, now=NOW + dt.timedelta(minutes=10)
    )
    undone = await undo_last(
        session, actor=w.gm, street_id=w.street.id, now=NOW + dt.timedelta(minutes=11)
    )
    assert undone.attention.id == mine.attention.id
    assert undone.balance.count == 2 and undone.balance.spent_cents == 400
    left = set(await session.scalars(select(Attention.id)))
    assert left == {older.attention.id, theirs.attention.id, elsewhere.attention.id}
    # Again: the next one back.
    again = await undo_last(
        session, actor=w.gm, street_id=w.street.id, now=NOW + dt.timedelta(minutes=12)
    )
    assert again.attention.id == older.attention.id
    await refused(
        session,
        lambda: undo_last(session, actor=w.gm, street_id=w.street.id, now=NOW),
        NotFound,
        "liefleed.nothing_to_undo",
    )
    assert await count(session, AuditEntry) == 2


async def test_undo_last_only_within_the_window(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w)
    await refused(
        session,
        lambda: undo_last(
            session, actor=w.gm, street_id=w.street.id, now=NOW + dt.timedelta(days=7, seconds=1)
        ),
        NotFound,
        "liefleed.nothing_to_undo",
    )
    undone = await undo_last(
        session, actor=w.gm, street_id=w.street.id, now=NOW + dt.timedelta(days=7)
    )
    assert undone.balance.count == 0


async def test_undo_last_in_another_street_is_refused(session: AsyncSession) -> None:
    w = await make_world(session)
    await log(session, w, actor=w.other_gm, street_id=w.other_street.id)
    await refused(
        session,
        lambda: undo_last(session, actor=w.gm, street_id=w.other_street.id, now=NOW),
        NotAllowed,
        "perm.not_your_street",
    )


# -- recent attentions -------------------------------------------------------------------------


async def test_recent_attentions_newest_first_with_limit(session: AsyncSession) -> None:
    w = await make_world(session)
    for days_ago in (5, 1, 3, 0, 2, 4):
        await log(session, w, given_on=TODAY - dt.timedelta(days=days_ago), cost_cents=days_ago)
    await log(session, w, actor=w.other_gm, street_id=w.other_street.id)
    views = await recent_attentions(session, actor=w.gm, street_id=w.street.id, now=NOW)
    assert [v.given_on for v in views] == [TODAY - dt.timedelta(days=d) for d in range(5)]
    assert all(v.street_id == w.street.id and v.year == 2026 for v in views)
    three = await recent_attentions(session, actor=w.gm, street_id=w.street.id, limit=3, now=NOW)
    assert [v.cost_cents for v in three] == [0, 1, 2]


async def test_recent_attentions_show_neighbours_details_only_to_gangmakers(
    session: AsyncSession,
) -> None:
    w = await make_world(session)
    await log(session, w, house_number="21", note="Opname")
    await log(session, w, actor=w.gm2, house_number="8", now=NOW + dt.timedelta(minutes=1))

    mine = await recent_attentions(session, actor=w.gm, street_id=w.street.id, now=NOW)
    assert [(v.house_number, v.mine, v.editable) for v in mine] == [
        ("8", False, False),
        ("21", True, True),
    ]
    assert mine[1].note == "Opname"

    for_leader = await recent_attentions(session, actor=w.leader, street_id=w.street.id, now=NOW)
    assert len(for_leader) == 2
    assert all(v.house_number is None and v.note is None for v in for_leader)
    assert not any(v.editable for v in for_leader)

    week_later = await recent_attentions(
        session, actor=w.gm, street_id=w.street.id, now=NOW + dt.timedelta(days=8)
    )
    assert not any(v.editable for v in week_later)


async def test_recent_attentions_refused_to_others(session: AsyncSession) -> None:
    w = await make_world(session)
    area2 = await f.area(session, w.org, "Noord")
    leader_elsewhere = await f.person(session, w.org, "Ans", roles=((Role.LEADER, area2.id),))
    for actor in (w.other_gm, w.resident, leader_elsewhere):
        with pytest.raises(NotAllowed) as caught:
            await recent_attentions(session, actor=actor, street_id=w.street.id)
        assert caught.value.key == "perm.not_your_street"
    org2 = await f.organisation(session, "schiedam")
    admin_elsewhere = await f.person(session, org2, "Admin", roles=((Role.ADMIN, None),))
    with pytest.raises(NotFound):
        await recent_attentions(session, actor=admin_elsewhere, street_id=w.street.id)


# -- retention ---------------------------------------------------------------------------------


async def test_purge_old_notes_clears_only_old_personal_details(session: AsyncSession) -> None:
    w = await make_world(session)
    old = await log(
        session,
        w,
        house_number="5",
        note="Oud",
        now=NOW - dt.timedelta(days=400),
        given_on=dt.date(2025, 4, 7),
    )
    bare = await log(session, w, now=NOW - dt.timedelta(days=300), given_on=dt.date(2025, 7, 1))
    fresh = await log(session, w, house_number="6", note="Nieuw")
    cutoff = NOW - dt.timedelta(days=180)

    assert await purge_old_notes(session, before=cutoff) == 1
    rows = {
        a.id: (a.house_number, a.note, a.cost_cents)
        for a in await session.scalars(select(Attention).execution_options(populate_existing=True))
    }
    assert rows == {
        old.attention.id: (None, None, 1500),
        bare.attention.id: (None, None, 1500),
        fresh.attention.id: ("6", "Nieuw", 1500),
    }
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "liefleed.notes_purged")
    )
    assert entry is not None and entry.details["count"] == 1
    assert await purge_old_notes(session, before=cutoff) == 0
    assert (await balance(session, street_id=w.street.id, year=2025)).count == 2
