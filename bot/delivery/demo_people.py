"""`gangmaker demo --people N`: many demo gangmakers on Telegram, for load tests and benchmarks.

Each new person has consent, a language (spread over ten languages), one Telegram identity with
a made-up chat id (``7000000000 + person id``, unique) and is gangmaker of a new active demo
street; streets are spread over the organisation's areas and some carry the Lief & Leed or the
green theme. Rows are written in bulk (no services), so 10,000 people take seconds.

Error keys: ``Conflict("demo.no_areas")``: the organisation has no areas to put streets in.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SHIPPED_LANGUAGES
from bot.demo import _insert, _new_ids  # the demo's bulk helpers: ids up front, chunks
from bot.errors import Conflict
from bot.i18n import LANGUAGE_NAMES
from bot.models import (
    Area,
    Channel,
    ChannelIdentity,
    Organisation,
    Person,
    Role,
    RoleGrant,
    Street,
    StreetMembership,
    StreetStatus,
    utcnow,
)
from bot.services.codes import new_invite_code
from bot.services.streets import duplicate_key

# Ten languages of Rotterdam's residents: the shipped ones first, then others we know by name.
DEMO_LANGUAGES = tuple(dict.fromkeys([*SHIPPED_LANGUAGES, *LANGUAGE_NAMES]))[:10]
TELEGRAM_BASE = 7_000_000_000
PEOPLE_PER_STREET = 3
FIRST_NAMES = ["Fatima", "Mehmet", "Anouk", "Sem", "Ilse", "Kofi", "Ayşe", "Priya", "Jan", "Noor"]


@dataclass(frozen=True)
class DemoPeople:
    people: int
    streets: int
    person_ids: list[int]

    def describe(self) -> str:
        return (
            f"Added {self.people} demo gangmakers with Telegram identities in {self.streets} "
            f"new streets, languages {', '.join(DEMO_LANGUAGES)}."
        )


async def add_demo_people(
    session: AsyncSession,
    *,
    organisation: Organisation,
    count: int,
    now: dt.datetime | None = None,
    seed: int = 2026,
) -> DemoPeople:
    now = now or utcnow()
    rng = random.Random(seed + count)
    area_ids = list(
        await session.scalars(
            select(Area.id).where(Area.organisation_id == organisation.id).order_by(Area.id)
        )
    )
    if not area_ids:
        raise Conflict("demo.no_areas")
    if count <= 0:
        return DemoPeople(0, 0, [])
    person_ids = await _new_ids(session, Person, count)
    streets = (count + PEOPLE_PER_STREET - 1) // PEOPLE_PER_STREET
    street_ids = await _new_ids(session, Street, streets)
    taken = set(await session.scalars(select(Street.invite_code)))

    people = []
    identities = []
    grants = []
    for n, person_id in enumerate(person_ids):
        since = now - dt.timedelta(days=rng.randint(1, 700))
        people.append(
            {
                "id": person_id,
                "organisation_id": organisation.id,
                "first_name": rng.choice(FIRST_NAMES),
                "language": DEMO_LANGUAGES[n % len(DEMO_LANGUAGES)],
                "consent_at": since,
                "created_at": since,
                "announcements_opt_out": False,
                "reminder_minute": None,
                "quiet_start_minute": None,
                "quiet_end_minute": None,
                "reminders_off": [],
            }
        )
        identities.append(
            {
                "person_id": person_id,
                "channel": Channel.TELEGRAM,
                "address": str(TELEGRAM_BASE + person_id),
                "last_inbound_at": since,
                "reachable": True,
                "preferred": True,
                "created_at": since,
            }
        )
        grants.append(
            {
                "person_id": person_id,
                "role": Role.GANGMAKER,
                "area_id": None,
                "payout_point_id": None,
            }
        )
    street_rows = []
    for n, street_id in enumerate(street_ids):
        code = new_invite_code()
        while code in taken:
            code = new_invite_code()
        taken.add(code)
        name, section = "Demostraat", f"blok {street_id}"
        name_key, section_key = duplicate_key(name, section)
        street_rows.append(
            {
                "id": street_id,
                "organisation_id": organisation.id,
                "area_id": area_ids[n % len(area_ids)],
                "name": name,
                "section": section,
                "name_key": name_key,
                "section_key": section_key,
                "households": rng.randint(10, 120),
                "theme_liefleed": rng.random() < 0.4,
                "theme_green": rng.random() < 0.2,
                "theme_clean": rng.random() < 0.1,
                "status": StreetStatus.ACTIVE,
                "invite_code": code,
                "signed_up_by_id": person_ids[n * PEOPLE_PER_STREET],
                "reviewed_at": now,
                "review_reason": None,
                "created_at": now - dt.timedelta(days=400),
            }
        )
    memberships = [
        {
            "street_id": street_ids[n // PEOPLE_PER_STREET],
            "person_id": person_id,
            "is_gangmaker": True,
            "created_at": now - dt.timedelta(days=400),
        }
        for n, person_id in enumerate(person_ids)
    ]
    await _insert(session, Person, people)
    await _insert(session, ChannelIdentity, identities)
    await _insert(session, RoleGrant, grants)
    await _insert(session, Street, street_rows)
    await _insert(session, StreetMembership, memberships)
    await session.flush()
    return DemoPeople(count, streets, person_ids)
