"""A small organisation for the dashboard tests: two areas, streets with gangmakers, a round
with submitted requests, and web accounts (an admin, a leader of one area, a payout point, and
a theme lead of green streets: only Schiedamseweg in Delfshaven is green)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Area,
    BudgetRequest,
    Channel,
    Organisation,
    Person,
    RequestStatus,
    Round,
    Street,
    StreetStatus,
)
from bot.services import web_accounts
from bot.services.codes import new_reference
from tests import factories

PASSWORD = "correct horse battery"


@dataclass
class Data:
    org: Organisation
    north: Area
    south: Area
    round: Round
    north_street: Street
    south_street: Street
    pending_street: Street
    gangmaker_tr: Person
    gangmaker_nl: Person
    requests: list[BudgetRequest]


async def seed(session: AsyncSession, *, now: dt.datetime) -> Data:
    org = await factories.organisation(session)
    north = await factories.area(session, org, "Noord")
    south = await factories.area(session, org, "Delfshaven")
    await factories.payout_point(session, org, north)
    gm_tr = await factories.person(session, org, "Ayse", language="tr", channel=Channel.CONSOLE)
    gm_nl = await factories.person(session, org, "Fatima", language="nl", channel=Channel.CONSOLE)
    north_street = await factories.street(
        session, org, north, "Zaagmolenstraat", gangmakers=(gm_tr,)
    )
    south_street = await factories.street(session, org, south, "Schiedamseweg", gangmakers=(gm_nl,))
    south_street.theme_green = True
    pending = await factories.street(
        session, org, north, "Bergweg", status=StreetStatus.PENDING, gangmakers=(gm_nl,)
    )
    round_ = await factories.round_(
        session, org, opens=now - dt.timedelta(days=10), closes=now + dt.timedelta(days=20)
    )
    requests = []
    for street, activity, cents in (
        (north_street, "Straatfeest", 20000),
        (north_street, "Plantjesdag", 8000),
        (south_street, "Buurtbarbecue", 15000),
    ):
        request = BudgetRequest(
            reference=new_reference(),
            round_id=round_.id,
            street_id=street.id,
            activity=activity,
            activity_date=(now + dt.timedelta(days=30)).date(),
            expected_participants=40,
            amount_cents=cents,
            status=RequestStatus.SUBMITTED,
            created_at=now - dt.timedelta(days=len(requests) + 1),
        )
        session.add(request)
        requests.append(request)
    await session.flush()
    await web_accounts.create_account(
        session, organisation=org, username="admin", password=PASSWORD,
        grants=[web_accounts.Grant("admin")], first_name="Anna",
    )  # fmt: skip
    await web_accounts.create_account(
        session, organisation=org, username="noord", password=PASSWORD,
        grants=[web_accounts.Grant("leader", "Noord")], first_name="Nico",
    )  # fmt: skip
    await web_accounts.create_account(
        session, organisation=org, username="buurthuis", password=PASSWORD,
        grants=[web_accounts.Grant("payout", "Buurthuis Noord")], first_name="Bram",
    )  # fmt: skip
    await web_accounts.create_account(
        session, organisation=org, username="groen", password=PASSWORD,
        grants=[web_accounts.Grant("theme_lead", "groen")], first_name="Gijs",
    )  # fmt: skip
    return Data(org, north, south, round_, north_street, south_street, pending, gm_tr, gm_nl,
                requests)  # fmt: skip
