"""Who may do what in chat: every role against every action, as one table, twice.

1. At the service level (``bot/services``): each action is tried by each role inside a
   savepoint that is rolled back afterwards. Where the table says "no", the service refuses
   with a ``NotAllowed`` (or a ``NotFound``, where even the existence is not shown) and the
   database is exactly as before; where it says "yes", it goes through.
2. Through the dialogs: the menu shows each role exactly its entries; pressing the button of an
   entry that is not shown (a forged or stale button) is refused with "That choice is no longer
   available." and changes nothing; a leader of another area or a gangmaker of another street
   who opens an entry they do have does not see the other's request or street.

Roles: a new person (consented, no role), the gangmaker of street A (area X), the gangmaker of
street B (area Y), the leader of area X, the leader of area Y, the payout point (in X), an admin.
The web half of the matrix is ``tests/test_dashboard_authorisation.py``. Forged webhook
requests (no or a wrong secret) are covered by ``tests/test_telegram_e2e.py::test_the_webhook_
refuses_a_wrong_secret_and_handles_the_right_one``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.errors import DomainError, NotAllowed, NotFound
from bot.models import (
    AttentionKind,
    Base,
    BudgetRequest,
    ChannelIdentity,
    Person,
    Role,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import announcements, budget, liefleed, streets
from tests import factories
from tests.chat import ChatHarness
from tests.factories import NOW

ROLES = ["new", "gm_a", "gm_b", "leader_x", "leader_y", "payout", "admin"]


@dataclass
class W:
    area_x: int
    area_y: int
    street_a: int
    street_b: int
    pending: int
    invite_a: str
    round_id: int
    request_a: str  # reference, submitted (waiting for the leader of X)
    payout_code: str  # of street B's approved request


async def build(sessions: async_sessionmaker[AsyncSession]) -> W:
    async with transaction(sessions) as s:
        org = await factories.organisation(s)
        x = await factories.area(s, org, "Delfshaven")
        y = await factories.area(s, org, "Charlois")
        point = await factories.payout_point(s, org, x)
        new = await factories.person(s, org, "Noor", address="new")
        gm_a = await factories.person(s, org, "Fatima", address="gm_a")
        gm_b = await factories.person(s, org, "Bram", address="gm_b")
        await factories.person(s, org, "Sanne", address="leader_x", roles=((Role.LEADER, x.id),))
        await factories.person(s, org, "Youssef", address="leader_y", roles=((Role.LEADER, y.id),))
        await factories.person(s, org, "Kees", address="payout", roles=((Role.PAYOUT, point.id),))
        admin = await factories.person(s, org, "Ad", address="admin", roles=((Role.ADMIN, None),))
        street_a = await factories.street(s, org, x, "Zaagmolenstraat", gangmakers=(gm_a,))
        street_b = await factories.street(s, org, y, "Wolphaertsbocht", gangmakers=(gm_b,))
        pending = await factories.street(s, org, x, "Mathenesserweg", status=StreetStatus.PENDING)
        s.add(StreetMembership(street_id=pending.id, person_id=new.id, is_gangmaker=False))
        round_ = await factories.round_(s, org)
        args = {
            "round_id": round_.id,
            "activity": "Straatfeest",
            "activity_date": dt.date(2026, 6, 20),
            "expected_participants": 30,
            "amount_cents": 15000,
            "plan": None,
            "now": NOW,
        }
        request_a = await budget.submit_request(s, actor=gm_a, street_id=street_a.id, **args)
        request_b = await budget.submit_request(s, actor=gm_b, street_id=street_b.id, **args)
        request_b = await budget.review_request(
            s, actor=admin, request_id=request_b.id, decision="approve", now=NOW
        )
        assert request_b.payout_code
        return W(
            x.id,
            y.id,
            street_a.id,
            street_b.id,
            pending.id,
            street_a.invite_code,
            round_.id,
            request_a.reference,
            request_b.payout_code,
        )


async def person(s: AsyncSession, address: str) -> Person:
    found = await s.scalar(
        select(Person).join(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    assert found is not None
    await s.refresh(found, ["roles"])
    return found


async def snapshot(s: AsyncSession) -> dict[str, Any]:
    """Row counts of every table plus the statuses people act on."""
    counts = {
        t.name: await s.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }
    requests = (
        await s.execute(select(BudgetRequest.id, BudgetRequest.status, BudgetRequest.paid_at))
    ).all()
    street_rows = (await s.execute(select(Street.id, Street.status))).all()
    return {"counts": counts, "requests": sorted(requests), "streets": sorted(street_rows)}


Action = Callable[[AsyncSession, Person, W], Awaitable[Any]]


async def _request_a(s: AsyncSession, w: W) -> BudgetRequest:
    found = await s.scalar(select(BudgetRequest).where(BudgetRequest.reference == w.request_a))
    assert found is not None
    return found


async def sign_up(s: AsyncSession, actor: Person, w: W) -> Any:
    return await streets.sign_up_street(
        s,
        actor=actor,
        name=f"Proefstraat {actor.id}",
        section=None,
        area_id=w.area_x,
        households=20,
        liefleed=False,
        now=NOW,
    )


async def join(s: AsyncSession, actor: Person, w: W) -> Any:
    return await streets.join_street(s, actor=actor, invite_code=w.invite_a, now=NOW)


async def request_budget(s: AsyncSession, actor: Person, w: W) -> Any:
    return await budget.submit_request(
        s,
        actor=actor,
        street_id=w.street_a,
        round_id=w.round_id,
        activity="Buurtfeest",
        activity_date=dt.date(2026, 6, 27),
        expected_participants=20,
        amount_cents=5000,
        plan=None,
        now=NOW,
    )


async def see_request(s: AsyncSession, actor: Person, w: W) -> Any:
    return await budget.request_by_reference(s, actor=actor, reference=w.request_a)


async def approve(s: AsyncSession, actor: Person, w: W) -> Any:
    request = await _request_a(s, w)
    return await budget.review_request(
        s, actor=actor, request_id=request.id, decision="approve", now=NOW
    )


async def reject(s: AsyncSession, actor: Person, w: W) -> Any:
    request = await _request_a(s, w)
    return await budget.review_request(
        s, actor=actor, request_id=request.id, decision="reject", reason="Te duur", now=NOW
    )


async def see_pending_street(s: AsyncSession, actor: Person, w: W) -> Any:
    shown = [street.id for street in await streets.pending_streets(s, actor=actor)]
    if w.pending not in shown:
        raise NotFound("test.not_shown")  # allowed to look, but not at this street
    return shown


async def approve_street(s: AsyncSession, actor: Person, w: W) -> Any:
    return await streets.review_street(
        s, actor=actor, street_id=w.pending, approve=True, reason=None, now=NOW
    )


async def redeem(s: AsyncSession, actor: Person, w: W) -> Any:
    return await budget.redeem_payout(s, actor=actor, code=w.payout_code, now=NOW)


async def log_liefleed(s: AsyncSession, actor: Person, w: W) -> Any:
    return await liefleed.log_attention(
        s,
        actor=actor,
        street_id=w.street_a,
        occasion="birthday",
        kind=AttentionKind.CARD,
        cost_cents=500,
        given_on=NOW.date(),
        now=NOW,
    )


async def announce(s: AsyncSession, actor: Person, w: W) -> Any:
    return await announcements.create_announcement(
        s,
        organisation_id=actor.organisation_id,
        actor=actor,
        texts={"nl": "Hallo allemaal"},
        now=NOW,
    )


ALL = set(ROLES)
# action: (the service call, the roles that may)
SERVICE_MATRIX: dict[str, tuple[Action, set[str]]] = {
    "sign up a street": (sign_up, ALL),  # anyone who consented may propose a street
    "join a street": (join, ALL),  # the invite code is the key
    "request a budget": (request_budget, {"gm_a"}),
    "see a request": (see_request, {"gm_a", "leader_x", "admin"}),
    "approve a request": (approve, {"leader_x", "admin"}),
    "reject a request": (reject, {"leader_x", "admin"}),
    "see a pending street": (see_pending_street, {"leader_x", "admin"}),
    "approve a street": (approve_street, {"leader_x", "admin"}),
    "redeem a payout code": (redeem, {"payout", "admin"}),
    "log Lief & Leed": (log_liefleed, {"gm_a"}),
    "compose an announcement": (announce, {"leader_x", "leader_y", "admin"}),
}
CASES = [(action, role) for action in SERVICE_MATRIX for role in ROLES]


@pytest.mark.parametrize(("action", "role"), CASES, ids=[f"{a}-{r}" for a, r in CASES])
async def test_service_matrix(sessions, action: str, role: str) -> None:
    w = await build(sessions)
    call, allowed = SERVICE_MATRIX[action]
    async with sessions() as s, s.begin():
        actor = await person(s, role)
        before = await snapshot(s)
        savepoint = await s.begin_nested()
        try:
            await call(s, actor, w)
        except DomainError as error:
            await savepoint.rollback()
            assert await snapshot(s) == before  # nothing changed
            if role in allowed:
                # May do it; only a rule of the thing itself stops it (already a member).
                assert not isinstance(error, NotAllowed | NotFound), (role, action, error.key)
            else:
                assert isinstance(error, NotAllowed | NotFound), (role, action, error)
        else:
            await savepoint.rollback()
            assert role in allowed, f"{role} may not {action}, yet it went through"
        await s.rollback()


# --- through the dialogs -------------------------------------------------------------------------

# Menu entry (dialog value) -> the roles that see it.
MENU_MATRIX: dict[str, set[str]] = {
    "signup": {"new"},
    "streets": {"gm_a", "gm_b"},
    "budget": {"gm_a", "gm_b"},
    "liefleed": {"gm_a", "gm_b"},
    "review": {"leader_x", "leader_y", "admin"},
    "pending_streets": {"leader_x", "leader_y", "admin"},
    "overview": {"leader_x", "leader_y", "admin"},
    "redeem": {"payout", "admin"},
}
NOT_AVAILABLE = "Die keuze kan niet meer."


async def db_snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as s:
        return await snapshot(s)


@pytest.mark.parametrize("role", ROLES)
async def test_dialog_matrix(sessions, role: str) -> None:
    w = await build(sessions)
    chat = ChatHarness(sessions, address=role)
    await chat.send("menu")
    shown = {value.partition(":")[0] for value in chat.option_values}
    for entry, roles in MENU_MATRIX.items():
        assert (entry in shown) == (role in roles), (role, entry, chat.dump())

    # Forged buttons for the entries this role does not have: refused, nothing changes.
    before = await db_snapshot(sessions)
    for entry, roles in MENU_MATRIX.items():
        if role in roles:
            continue
        await chat.send("menu")
        await chat.press(entry)
        assert chat.text.startswith(NOT_AVAILABLE), (role, entry, chat.dump())
        state = await chat.state()
        assert (state.dialog, state.step) == ("menu", "choose")
    assert await db_snapshot(sessions) == before

    # Entries they have show only what is theirs.
    if role in ("leader_y",):
        await chat.send("menu")
        await chat.press("review")
        assert w.request_a not in chat.text + " ".join(chat.options), chat.dump()
        await chat.send("menu")
        await chat.press("pending_streets")
        assert "Mathenesserweg" not in chat.text + " ".join(chat.options), chat.dump()
    if role in ("leader_x", "admin"):
        await chat.send("menu")
        await chat.press("review")
        assert any(w.request_a in option for option in chat.options), chat.dump()
    if role == "gm_b":
        await chat.send("menu")
        await chat.press("liefleed")
        assert "Zaagmolenstraat" not in chat.text + " ".join(chat.options), chat.dump()
    if role == "payout":
        await chat.send("menu")
        await chat.press("redeem")
        await chat.send("B-" + w.request_a[-6:])  # a request reference is not a payout code
        assert (await chat.state()).dialog == "redeem"
    assert await db_snapshot(sessions) == before
