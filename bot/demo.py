"""Demo data: a realistic organisation to try the bot with, and bulk data for benchmarks.

:func:`load_demo` fills a database with "Opzoomer Mee Rotterdam" (slug ``rotterdam``): the 14
areas, payout points, this year's four rounds, about 60 streets in every status, gangmakers,
leaders, budget requests in every status and Lief & Leed attentions. Four fixed people log in
through the terminal chat (channel ``console``): ``demo-gangmaker``, ``demo-leader``,
``demo-payout`` and ``demo-admin``. Everything is invented; names of people are first names only
and Lief & Leed entries carry a house number at most.

The data is deterministic (``random.Random(2026)``) apart from times, which are relative to
``now``, and loading is idempotent: a second run finds the organisation and adds nothing.

:func:`seed_scale` bulk-inserts a separate organisation of any size for the benchmarks.

Rows are written with the ORM and bulk inserts, not through the services, but follow the domain
rules: awarded <= asked <= the round's maximum, unique codes, requests only for active streets in
rounds that have opened, at most one open request per street and round, pots not overspent.

Error keys (``bot.errors`` type, key, parameters):

- ``Conflict("demo.organisation_exists", slug=...)``: an organisation with this slug exists and
  is not the demo (:func:`load_demo` never mixes demo data into a real organisation), or the
  slug asked of :func:`seed_scale` is taken.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict
from bot.models import (
    Area,
    Attention,
    AttentionKind,
    AuditEntry,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    LiefLeedPot,
    OccasionType,
    Organisation,
    PayoutPoint,
    Person,
    RequestStatus,
    Role,
    RoleGrant,
    Round,
    RoundTheme,
    Street,
    StreetMembership,
    StreetStatus,
    utcnow,
)
from bot.services.codes import ALPHABET

SEED = 2026
DEMO_SLUG = "rotterdam"
GANGMAKER_ADDRESS = "demo-gangmaker"
LEADER_ADDRESS = "demo-leader"
PAYOUT_ADDRESS = "demo-payout"
WELFARE_ADDRESS = "demo-welfare-delfshaven"
ADMIN_ADDRESS = "demo-admin"

S = RequestStatus
AWARDED = (S.APPROVED, S.PARTLY_APPROVED, S.PAID, S.REPORTED)

# --- the demo organisation as data ---------------------------------------------------------

# Area, its project leader (first name) and an invented phone extension.
AREAS: list[tuple[str, str, str]] = [
    ("Centrum", "Mehmet", "01"),
    ("Charlois", "Sanne", "02"),
    ("Delfshaven", "Sanne", "02"),
    ("Feijenoord", "Esther", "03"),
    ("Hillegersberg-Schiebroek", "Joost", "04"),
    ("Hoek van Holland", "Ingrid", "05"),
    ("Hoogvliet", "Rachid", "06"),
    ("IJsselmonde", "Linda", "07"),
    ("Kralingen-Crooswijk", "Bas", "08"),
    ("Noord", "Naima", "09"),
    ("Overschie", "Peter", "10"),
    ("Pernis", "Anouk", "11"),
    ("Prins Alexander", "Kees", "12"),
    ("Rozenburg", "Marieke", "13"),
]
DEMO_LEADER = "Sanne"

# Payout points (invented neighbourhood houses): area, name, address, opening hours.
PAYOUT_POINTS: list[tuple[str, str, str, str]] = [
    ("Delfshaven", "Buurthuis Delfshaven", "Schiedamseweg 120", "ma-vr 10:00-16:00"),
    ("Delfshaven", "Huis van de Wijk De Schiehaven", "Mathenesserweg 45", "di-do 13:00-17:00"),
    ("Delfshaven", "Wijkpunt Spangen", "Bloklandstraat 80", "ma, wo, vr 9:30-12:30"),
    ("Charlois", "Buurthuis De Tarwewijk", "Mijnsherenlaan 150", "ma-vr 10:00-16:00"),
    ("Charlois", "Wijkcentrum Zuidplein-West", "Wolphaertsbocht 222", "di-vr 12:00-17:00"),
    ("Centrum", "Huis van de Wijk Het Oude Westen", "Gouvernestraat 30", "ma-vr 10:00-17:00"),
    ("Feijenoord", "Buurthuis Hillesluis", "Hillevliet 90", "ma-do 10:00-16:00"),
    ("Feijenoord", "Wijkpunt Afrikaanderwijk", "Putselaan 12", "di, do 9:00-13:00"),
    ("Hillegersberg-Schiebroek", "Ontmoetingshuis De Berg", "Kleiweg 200", "ma-vr 9:00-15:00"),
    ("Hoek van Holland", "Dorpshuis Hoek", "Prins Hendrikstraat 20", "di-vr 10:00-14:00"),
    ("Hoogvliet", "Buurthuis Hoogvliet-Noord", "Ossenisseweg 60", "ma-vr 10:00-16:00"),
    ("IJsselmonde", "Huis van de Wijk Lombardijen", "Spinozaweg 250", "ma-vr 10:00-16:00"),
    ("IJsselmonde", "Wijkpunt Beverwaard", "Kreekhuizenlaan 5", "wo, vr 13:00-17:00"),
    ("Kralingen-Crooswijk", "Buurthuis Crooswijk", "Crooswijksestraat 75", "ma-vr 10:00-16:00"),
    ("Noord", "Huis van de Wijk Het Oude Noorden", "Zwart Janstraat 50", "ma-vr 10:00-17:00"),
    ("Noord", "Wijkpunt Bergpolder", "Bergweg 300", "di-do 10:00-15:00"),
    ("Overschie", "Buurthuis Overschie", "Overschiese Dorpsstraat 30", "ma-do 10:00-15:00"),
    ("Pernis", "Dorpshuis Pernis", "Pastoriedijk 100", "di, do 10:00-15:00"),
    ("Prins Alexander", "Huis van de Wijk Ommoord", "Hesseplaats 40", "ma-vr 9:00-17:00"),
    ("Prins Alexander", "Wijkpunt Het Lage Land", "Prinsenlaan 110", "wo-vr 10:00-14:00"),
    ("Rozenburg", "Dorpshuis Rozenburg", "Raadhuisweg 10", "ma-vr 10:00-15:00"),
]
DEMO_PAYOUT_POINT = "Buurthuis Delfshaven"
PAYOUT_PEOPLE = [
    "Wendy", "Hasan", "Ellen", "Samir", "Tamara", "Rob", "Latifa", "Gert", "Yvonne", "Orhan",
    "Petra", "Dennis", "Miriam", "Ferdi", "Sylvia", "Hakim", "Karin", "Ton", "Nadia", "Erik",
    "Monique",
]  # fmt: skip

# Streets: area, name, section (house numbers, a corner, or "+ other street" when merged),
# status (a=active, p=pending, i=inactive, r=rejected) and themes (L=Lief & Leed, G=green,
# C=clean).
STREETS: list[tuple[str, str, str | None, str, str]] = [
    ("Delfshaven", "Bellamystraat", "1-47 oneven", "a", "L"),
    ("Delfshaven", "Snellemanstraat", None, "a", "G"),
    ("Delfshaven", "Schiedamseweg", "2-60 even", "a", "L"),
    ("Delfshaven", "Bloklandstraat", "+ Korfmakersstraat", "a", "GC"),
    ("Delfshaven", "Tidemanstraat", None, "p", "L"),
    ("Delfshaven", "Graaf Florisstraat", "100-180", "p", ""),
    ("Delfshaven", "Mathenesserweg", "hoek Bilderdijkstraat", "i", ""),
    ("Delfshaven", "Van Speijkstraat", None, "r", ""),
    ("Charlois", "Wolphaertsbocht", "200-300", "a", "L"),
    ("Charlois", "Verboomstraat", None, "a", ""),
    ("Charlois", "Boergoensevliet", "1-89", "a", "LC"),
    ("Charlois", "Mijnsherenlaan", None, "p", ""),
    ("Charlois", "Brabantsestraat", "+ Katendrechtse Lagedijk", "p", "L"),
    ("Charlois", "Charloisse Lagedijk", None, "i", "L"),
    ("Centrum", "Josephstraat", None, "a", "L"),
    ("Centrum", "Gouvernestraat", "1-60", "a", ""),
    ("Centrum", "Nieuwe Binnenweg", "hoek Josephlaan", "a", "C"),
    ("Centrum", "Van Oldenbarneveltstraat", None, "r", ""),
    ("Feijenoord", "Lange Hilleweg", "200-320", "a", "L"),
    ("Feijenoord", "Putselaan", None, "a", ""),
    ("Feijenoord", "Hillevliet", "1-99 oneven", "a", "LG"),
    ("Feijenoord", "Oranjeboomstraat", None, "p", ""),
    ("Feijenoord", "Rosestraat", None, "i", ""),
    ("Hillegersberg-Schiebroek", "Meidoornsingel", None, "a", "G"),
    ("Hillegersberg-Schiebroek", "Peppelweg", "1-75", "a", "L"),
    ("Hillegersberg-Schiebroek", "Kleiweg", "hoek Berglustlaan", "a", ""),
    ("Hillegersberg-Schiebroek", "Wilgenplaslaan", None, "p", "L"),
    ("Hoek van Holland", "Prins Hendrikstraat", None, "a", "L"),
    ("Hoek van Holland", "Dirk van den Burgweg", "1-60", "a", "G"),
    ("Hoek van Holland", "Schelpweg", None, "i", ""),
    ("Hoogvliet", "Ossenisseweg", None, "a", "L"),
    ("Hoogvliet", "Kamperfoeliestraat", "+ Clematisstraat", "a", "G"),
    ("Hoogvliet", "Aveling", None, "r", ""),
    ("IJsselmonde", "Spinozaweg", "200-280", "a", "L"),
    ("IJsselmonde", "Reyerdijk", None, "a", ""),
    ("IJsselmonde", "Slinge", "hoek Zuiderparkweg", "a", "C"),
    ("IJsselmonde", "Kreekhuizenlaan", None, "p", ""),
    ("Kralingen-Crooswijk", "Crooswijksestraat", None, "a", "L"),
    ("Kralingen-Crooswijk", "Boezemsingel", "1-48", "a", "G"),
    ("Kralingen-Crooswijk", "Oudedijk", "hoek Waterloostraat", "a", ""),
    ("Kralingen-Crooswijk", "Waterloostraat", None, "a", "LC"),
    ("Kralingen-Crooswijk", "Paradijslaan", None, "i", ""),
    ("Noord", "Zaagmolenstraat", None, "a", "L"),
    ("Noord", "Zwart Janstraat", "1-79 oneven", "a", ""),
    ("Noord", "Bergweg", "250-330", "a", "G"),
    ("Noord", "Zomerhofstraat", None, "a", "LC"),
    ("Noord", "Jacob Catsstraat", None, "p", ""),
    ("Noord", "Vijverhofstraat", None, "r", ""),
    ("Overschie", "Burgemeester Baumannlaan", "1-40", "a", "L"),
    ("Overschie", "Overschiese Dorpsstraat", None, "a", "G"),
    ("Overschie", "Abtsweg", None, "i", ""),
    ("Pernis", "Pastoriedijk", None, "a", "L"),
    ("Pernis", "Kerkplein", "+ Kerkstraat", "a", ""),
    ("Prins Alexander", "Romeynshof", None, "a", "L"),
    ("Prins Alexander", "Ommoordseweg", "1-101", "a", ""),
    ("Prins Alexander", "Prinsenlaan", "hoek Hesseplaats", "a", "G"),
    ("Prins Alexander", "Hesseplaats", None, "p", ""),
    ("Rozenburg", "Emmastraat", None, "a", "L"),
    ("Rozenburg", "Raadhuisweg", None, "a", "C"),
    ("Rozenburg", "Molenweg", None, "r", ""),
]
_STREET_STATUS = {
    "a": StreetStatus.ACTIVE,
    "p": StreetStatus.PENDING,
    "i": StreetStatus.INACTIVE,
    "r": StreetStatus.REJECTED,
}
# Fatima's streets: the first with Lief & Leed, the second left free to request in the open round.
GANGMAKER_STREETS = ("Bellamystraat", "Snellemanstraat")
# The street whose awarded, uncashed code the demo payout point is given.
PAYOUT_STREET = "Schiedamseweg"
# Requests every demo has in the open round, so every status is present whatever ``now`` is and
# the demo leader has requests to review.
PLANNED: dict[str, RequestStatus] = {
    "Bellamystraat": S.SUBMITTED,
    "Schiedamseweg": S.APPROVED,
    "Bloklandstraat": S.SUBMITTED,
    "Wolphaertsbocht": S.SUBMITTED,
    "Verboomstraat": S.PARTLY_APPROVED,
    "Boergoensevliet": S.PAID,
    "Josephstraat": S.REPORTED,
    "Lange Hilleweg": S.REJECTED,
    "Zaagmolenstraat": S.WITHDRAWN,
}
# Fatima's requests in earlier rounds, the most recent round first.
GANGMAKER_HISTORY = {
    "Bellamystraat": [S.PAID, S.REPORTED, S.REPORTED],
    "Snellemanstraat": [S.APPROVED, S.REPORTED, S.REJECTED],
}

FIRST_NAMES = [
    "Ahmed", "Mohamed", "Yasmina", "Ayşe", "Emre", "Fatma", "Kees", "Joke", "Ria", "Henk",
    "Marleen", "Priya", "Ravi", "Lucia", "Maria", "José", "Agnieszka", "Piotr", "Daan", "Sem",
    "Lotte", "Noor", "Sevda", "Khadija", "Youssef", "Samira", "Jan", "Gerda", "Wilma", "Tineke",
    "Dewi", "Rudi", "Thijs", "Iris", "Esra", "Bilal", "Chantal", "Roxanne", "Kofi", "Ama",
    "Sandra", "Marcel", "Mustafa", "Zeynep", "Hanneke", "Bram", "Femke", "Anton", "Greetje",
    "Soufiane", "Winston", "Shanti", "Ilse", "Koen", "Manon", "Ouafae", "Hüseyin", "Carla",
]  # fmt: skip
LANGUAGES = (["nl"] * 14) + (["en"] * 4) + ["tr", "ar"]

ROUNDS: list[dict[str, Any]] = [
    {
        "key": "green",
        "names": {"nl": "Maak je straat groener", "en": "Make your street greener"},
        "theme": RoundTheme.GREEN, "opens": (2, 15), "closes": (7, 15),
        "max": 50000, "offers": ["flower_bulbs", "work_hut"],
    },
    {
        "key": "spring",
        "names": {"nl": "Voorjaarsronde", "en": "Spring round"},
        "theme": RoundTheme.GENERAL, "opens": (3, 15), "closes": (7, 15),
        "max": 25000, "offers": ["cleaning_kit", "work_hut"],
    },
    {
        "key": "summer",
        "names": {"nl": "Zomerronde", "en": "Summer round"},
        "theme": RoundTheme.GENERAL, "opens": (7, 15), "closes": (11, 1),
        "max": 25000, "offers": ["cleaning_kit", "reading_book", "work_hut"],
    },
    {
        "key": "december",
        "names": {"nl": "Decemberfeesten", "en": "December festivities"},
        "theme": RoundTheme.DECEMBER, "opens": (12, 1), "closes": (1, 1),
        "max": 17500, "offers": ["christmas_tree"],
    },
]  # fmt: skip

ACTIVITIES: dict[RoundTheme, list[str]] = {
    RoundTheme.GREEN: [
        "Geveltuintjes aanleggen met de buren",
        "Boomspiegels beplanten",
        "Plantenbakken vullen en koffie drinken",
        "Bloembollen planten langs de stoep",
    ],
    RoundTheme.GENERAL: [
        "Straatbarbecue voor alle buren",
        "Buitenspeeldag met spelletjes",
        "Opruimactie met koffie en koek",
        "Burendag-ontbijt op straat",
        "Halloween-speurtocht voor de kinderen",
        "Straatvoetbaltoernooi",
    ],
    RoundTheme.DECEMBER: [
        "Kerstborrel in de straat",
        "Oliebollen bakken met de buren",
        "Lichtjesavond met warme chocolademelk",
    ],
}
PARTLY_REASONS = [
    "Catering valt buiten de richtlijn; de activiteit zelf vergoeden we.",
    "Bedrag is hoog voor het aantal buren; we vergoeden een deel.",
]
REJECT_REASONS = [
    "Activiteit valt buiten deze ronde; dien hem in bij de volgende.",
    "Onvoldoende bewoners betrokken; graag opnieuw met een tweede gangmaker.",
]

# Lief & Leed entries: occasion key (bot.services.liefleed.OCCASIONS), type, kind, cost range,
# and a short note without names.
ATTENTIONS: list[tuple[str, OccasionType, AttentionKind, tuple[int, int], str]] = [
    ("birth", OccasionType.LIEF, AttentionKind.GIFT, (1000, 2000), "Kraamcadeautje"),
    ("wedding", OccasionType.LIEF, AttentionKind.FLOWERS, (1500, 2500), "50 jaar getrouwd"),
    ("birthday", OccasionType.LIEF, AttentionKind.CARD, (250, 500), "90 jaar, kaart van de straat"),
    ("exam", OccasionType.LIEF, AttentionKind.CARD, (250, 500), "Geslaagd!"),
    ("new_neighbour", OccasionType.LIEF, AttentionKind.FOOD, (800, 1500), "Welkomsttaart"),
    ("recovery", OccasionType.LIEF, AttentionKind.FLOWERS, (1000, 2000), "Weer thuis"),
    ("illness", OccasionType.LEED, AttentionKind.VISIT, (0, 0), "Even langs geweest"),
    ("hospital", OccasionType.LEED, AttentionKind.FLOWERS, (1200, 2200), "Beterschap"),
    ("loneliness", OccasionType.LEED, AttentionKind.FOOD, (800, 1800), "Samen gegeten"),
    ("bereavement", OccasionType.LEED, AttentionKind.CARD, (300, 600), "Condoleancekaart"),
    ("illness", OccasionType.LEED, AttentionKind.SHOPPING, (500, 1500), "Boodschappen gedaan"),
    ("accident", OccasionType.LEED, AttentionKind.HELP, (0, 0), "Hulp bij de tuin"),
]


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What the demo holds and how to log in to it (terminal chat, channel ``console``)."""

    organisation_id: int
    slug: str
    # False when the demo was there already and nothing was added.
    created: bool
    year: int
    gangmaker_address: str = GANGMAKER_ADDRESS
    leader_address: str = LEADER_ADDRESS
    payout_address: str = PAYOUT_ADDRESS
    admin_address: str = ADMIN_ADDRESS
    # An awarded, not yet cashed payout code to try at the demo payout point (None once cashed).
    payout_code: str | None = None
    payout_point_id: int | None = None
    # A round open at ``now`` and the demo gangmaker's active street without a request in it.
    open_round_id: int | None = None
    requestable_street_id: int | None = None
    open_round_name: str | None = None
    # Rows of the organisation per kind: areas, payout_points, rounds, streets, people, ...
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines for the command line: what is there and who to log in as."""
        c = self.counts
        what = (
            f"{c.get('areas', 0)} areas, {c.get('payout_points', 0)} payout points, "
            f"{c.get('rounds', 0)} rounds, {c.get('streets', 0)} streets, "
            f"{c.get('people', 0)} people, {c.get('requests', 0)} budget requests, "
            f"{c.get('attentions', 0)} Lief & Leed attentions"
        )
        state = "loaded" if self.created else "already there, nothing added"
        can_request = (
            f", can request a contribution in '{self.open_round_name}'"
            if self.open_round_name
            else ""
        )
        code = f", code to cash: {self.payout_code}" if self.payout_code else ""
        return "\n".join(
            [
                f"Demo organisation '{self.slug}' {state}: {what}.",
                "Try it with `gangmaker chat` as one of (console addresses):",
                f"  {self.gangmaker_address:<15} Fatima, gangmaker in Delfshaven{can_request}",
                f"  {self.leader_address:<15} Sanne, project leader of Delfshaven and Charlois",
                f"  {self.payout_address:<15} {DEMO_PAYOUT_POINT} (payout point){code}",
                f"  {self.admin_address:<15} Joyce, administrator",
            ]
        )


@dataclass(frozen=True)
class ScaleSummary:
    organisation_id: int
    round_ids: list[int]
    # The round open at ``now`` (every request when ``one_round``).
    main_round_id: int
    counts: dict[str, int] = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", " ".join(text.split()).casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def street_keys(name: str, section: str | None) -> tuple[str, str]:
    """``(name_key, section_key)`` as the streets service builds them for plain names
    ("Graaf Florisstraat", "1-47 oneven"), so a sign-up of a demo street finds it."""
    name_key = "".join(re.findall(r"[^\W_]+", _fold(name)))
    tokens = re.findall(r"[^\W_]+|[-+&]", _fold(section or ""))
    return name_key, " ".join(tokens).replace(" - ", "-").strip(" -")


class _Codes:
    """Unique short codes in the alphabet of :mod:`bot.services.codes`, drawn from ``rng`` so
    the demo is the same every time; codes already in the database are skipped."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken

    def make(self, length: int, prefix: str = "") -> str:
        while True:
            code = prefix + "".join(self.rng.choice(ALPHABET) for _ in range(length))
            if code not in self.taken:
                self.taken.add(code)
                return code

    def invite(self) -> str:
        return self.make(6)

    def payout(self) -> str:
        return self.make(8)

    def reference(self) -> str:
        return self.make(6, "B-")


async def _taken_codes(session: AsyncSession) -> set[str]:
    taken: set[str] = set()
    for column in (Street.invite_code, BudgetRequest.reference, BudgetRequest.payout_code):
        taken.update(code for code in await session.scalars(select(column)) if code)
    return taken


def _local(tz: ZoneInfo, year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=tz).astimezone(dt.UTC)


def _round_rows(org_id: int, tz: ZoneInfo, now: dt.datetime) -> list[dict[str, Any]]:
    """This campaign year's four rounds. If none is open at ``now`` (January to mid-February,
    November), the next one opens early, at the start of today, so a request can be tried."""
    year = now.astimezone(tz).year
    rows = []
    for spec in ROUNDS:
        opens = _local(tz, year, *spec["opens"])
        close_year = year + 1 if spec["closes"] < spec["opens"] else year
        rows.append(
            {
                "organisation_id": org_id,
                "year": year,
                "names": dict(spec["names"]),
                "theme": spec["theme"],
                "opens_at": opens,
                "closes_at": _local(tz, close_year, *spec["closes"]),
                "max_amount_cents": spec["max"],
                "in_kind_offers": list(spec["offers"]),
                "created_at": min(opens - dt.timedelta(days=30), now),
            }
        )
    if not any(r["opens_at"] <= now < r["closes_at"] for r in rows):
        upcoming = min((r for r in rows if r["opens_at"] > now), key=lambda r: r["opens_at"])
        today = now.astimezone(tz).date()
        upcoming["opens_at"] = _local(tz, today.year, today.month, today.day)
        upcoming["created_at"] = min(upcoming["created_at"], upcoming["opens_at"])
    return rows


def _get(round_: Round | dict[str, Any], key: str) -> Any:
    # Rounds are model objects in the demo and plain rows in the bulk seed.
    return round_[key] if isinstance(round_, dict) else getattr(round_, key)


def _main_round(rounds: Sequence[Any], now: dt.datetime) -> Any:
    """The round open at ``now`` that opened last."""
    open_now = [r for r in rounds if _get(r, "opens_at") <= now < _get(r, "closes_at")]
    return max(open_now, key=lambda r: _get(r, "opens_at"))


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start
    return start + (end - start) * rng.random()


def _request_fields(
    rng: random.Random,
    codes: _Codes,
    *,
    status: RequestStatus,
    round_: Round | dict[str, Any],
    now: dt.datetime,
    tz: ZoneInfo,
    households: int,
) -> dict[str, Any]:
    """The columns of a request in ``status``, with a story in time that ends before ``now``."""
    opens, closes = _get(round_, "opens_at"), _get(round_, "closes_at")
    maximum, theme = _get(round_, "max_amount_cents"), _get(round_, "theme")
    created = _between(rng, opens, min(closes, now))
    # Later steps (decision, payout, activity, report) happen between the request and now.
    steps = sorted(_between(rng, created, now) for _ in range(4))
    decided, paid, activity_at, reported = steps
    if status in (S.SUBMITTED, S.APPROVED, S.PARTLY_APPROVED, S.REJECTED, S.WITHDRAWN, S.PAID):
        # Planned a few weeks after the request, inside the round's window.
        activity_at = min(created + dt.timedelta(days=rng.randint(10, 50)), closes)
        activity_at = max(activity_at - dt.timedelta(days=1), created)
    low = min(7500, maximum)
    asked = rng.randrange(low, maximum + 1, 500) if maximum > low else maximum
    awarded: int | None = None
    if status in AWARDED:
        awarded = asked
        partly = status is S.PARTLY_APPROVED or (
            status in (S.PAID, S.REPORTED) and rng.random() < 0.3
        )
        if partly and asked > 1000:
            awarded = max(500, int(asked * rng.uniform(0.5, 0.85)) // 500 * 500)
            awarded = min(awarded, asked - 500)
    participants = max(8, min(120, households + rng.randint(-10, 20)))
    decided_at = decided if status in (*AWARDED, S.REJECTED) else None
    last = {
        S.SUBMITTED: created,
        S.WITHDRAWN: decided,
        S.APPROVED: decided,
        S.PARTLY_APPROVED: decided,
        S.REJECTED: decided,
        S.PAID: paid,
        S.REPORTED: reported,
    }[status]
    reason = None
    if status is S.REJECTED:
        reason = rng.choice(REJECT_REASONS)
    elif awarded is not None and awarded < asked:
        reason = rng.choice(PARTLY_REASONS)
    return {
        "reference": codes.reference(),
        "activity": rng.choice(ACTIVITIES.get(theme, ACTIVITIES[RoundTheme.GENERAL])),
        "activity_date": activity_at.astimezone(tz).date(),
        "expected_participants": participants,
        "amount_cents": asked,
        "plan": None,
        "status": status,
        "awarded_cents": awarded,
        "decision_reason": reason,
        "decided_at": decided_at,
        "payout_code": codes.payout() if status in AWARDED else None,
        "paid_at": paid if status in (S.PAID, S.REPORTED) else None,
        "reported_at": reported if status is S.REPORTED else None,
        "report_participants": (
            max(3, int(participants * rng.uniform(0.6, 1.2))) if status is S.REPORTED else None
        ),
        "report_photos": ["console:demo-photo.jpg"] if status is S.REPORTED else [],
        "created_at": created,
        "updated_at": last,
    }


def _attention_rows(
    rng: random.Random, *, count: int, pot_cents: int, start: dt.date, today: dt.date
) -> list[dict[str, Any]]:
    """Up to ``count`` attentions between ``start`` and ``today`` that stay within the pot."""
    rows: list[dict[str, Any]] = []
    left = pot_cents
    days = max(0, (today - start).days)
    for _ in range(count):
        occasion, kind_type, kind, (low, high), note = rng.choice(ATTENTIONS)
        cost = rng.randrange(low, high + 1, 50) if high > low else low
        if cost > left:
            continue
        left -= cost
        rows.append(
            {
                "occasion": occasion,
                "occasion_type": kind_type,
                "kind": kind,
                "cost_cents": cost,
                "given_on": start + dt.timedelta(days=rng.randint(0, days)),
                "house_number": rng.choice(
                    [None, str(rng.randint(1, 140)), f"{rng.randint(1, 80)}a"]
                ),
                "note": note if rng.random() < 0.7 else None,
                "updated_at": None,
            }
        )
    rows.sort(key=lambda r: r["given_on"])
    return rows


def _given_at(given_on: dt.date, tz: ZoneInfo, now: dt.datetime) -> dt.datetime:
    # Logged the evening of the day given, never after now.
    moment = dt.datetime.combine(given_on, dt.time(19, 30), tzinfo=tz).astimezone(dt.UTC)
    return min(moment, now)


# --- the demo ------------------------------------------------------------------------------


async def load_demo(session: AsyncSession, *, now: dt.datetime | None = None) -> DemoSummary:
    """Fill the database with the demo organisation; a no-op when it is there already.

    Flushes, never commits. Raises ``Conflict("demo.organisation_exists")`` when an organisation
    with the demo's slug exists that is not the demo.
    """
    now = _now(now)
    org = await session.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
    if org is not None:
        if await _demo_person(session, org.id, ADMIN_ADDRESS) is None:
            raise Conflict("demo.organisation_exists", slug=DEMO_SLUG)
        return await _summary(session, org, now=now, created=False)
    org = await _build_demo(session, now)
    return await _summary(session, org, now=now, created=True)


async def _build_demo(session: AsyncSession, now: dt.datetime) -> Organisation:
    rng = random.Random(SEED)
    codes = _Codes(rng, await _taken_codes(session))
    tz = ZoneInfo("Europe/Amsterdam")
    year = now.astimezone(tz).year
    today = now.astimezone(tz).date()
    long_ago = now - dt.timedelta(days=3 * 365)
    audit: list[AuditEntry] = []

    org = Organisation(
        slug=DEMO_SLUG,
        name="Opzoomer Mee Rotterdam",
        timezone=tz.key,
        default_language="nl",
        liefleed_pot_cents=15000,
        max_rounds_per_year=4,
        created_at=long_ago,
    )
    session.add(org)
    await session.flush()

    areas: dict[str, Area] = {}
    for name, leader, extension in AREAS:
        areas[name] = Area(
            organisation_id=org.id,
            name=name,
            contact_text=f"Projectleider {name}: {leader}, 010-555 00 {extension} (demo)",
        )
    session.add_all(areas.values())
    await session.flush()
    area_names = {area.id: name for name, area in areas.items()}

    points: dict[str, PayoutPoint] = {}
    points_by_area: dict[str, list[PayoutPoint]] = {}
    for area_name, name, address, hours in PAYOUT_POINTS:
        point = PayoutPoint(
            organisation_id=org.id,
            area_id=areas[area_name].id,
            name=name,
            address=f"{address}, Rotterdam",
            opening_hours=hours,
        )
        points[name] = point
        points_by_area.setdefault(area_name, []).append(point)
    session.add_all(points.values())
    await session.flush()

    def person(
        name: str,
        address: str,
        grants: Iterable[tuple[Role, int | None]],
        *,
        language: str = "nl",
        since: dt.datetime = long_ago,
    ) -> Person:
        item = Person(
            organisation_id=org.id,
            first_name=name,
            language=language,
            consent_at=since,
            created_at=since,
        )
        for role, ref in grants:
            item.roles.append(
                RoleGrant(
                    role=role,
                    area_id=ref if role == Role.LEADER else None,
                    payout_point_id=ref if role == Role.PAYOUT else None,
                )
            )
        item.identities.append(
            ChannelIdentity(channel=Channel.CONSOLE, address=address, created_at=since)
        )
        session.add(item)
        return item

    admin = person("Joyce", ADMIN_ADDRESS, [(Role.ADMIN, None)])
    leaders: dict[str, Person] = {}
    for area_name, leader, _ in AREAS:
        if leader not in leaders:
            address = LEADER_ADDRESS if leader == DEMO_LEADER else f"demo-leader-{leader.lower()}"
            leaders[leader] = person(leader, address, [])
        leaders[leader].roles.append(RoleGrant(role=Role.LEADER, area_id=areas[area_name].id))
    area_leader = {area_name: leaders[leader] for area_name, leader, _ in AREAS}
    point_staff: dict[int, Person] = {}
    for index, (name, point) in enumerate(points.items()):
        address = PAYOUT_ADDRESS if name == DEMO_PAYOUT_POINT else f"demo-payout-{index + 1:02d}"
        point_staff[point.id] = person(
            PAYOUT_PEOPLE[index % len(PAYOUT_PEOPLE)], address, [(Role.PAYOUT, point.id)]
        )
    # Delfshaven's welfare worker receives the gangmakers' signals; other areas have none yet.
    welfare = person("Yasmina", WELFARE_ADDRESS, [])
    await session.flush()
    areas["Delfshaven"].welfare_contact_id = welfare.id

    rounds = [Round(**row) for row in _round_rows(org.id, tz, now)]
    session.add_all(rounds)
    await session.flush()
    audit += [
        AuditEntry(
            organisation_id=org.id,
            at=r.created_at,
            actor_person_id=admin.id,
            action="round.created",
            object_type="round",
            object_id=r.id,
            details={"year": r.year, "name": r.names["nl"], "max_amount_cents": r.max_amount_cents},
        )
        for r in rounds
    ]
    main = _main_round(rounds, now)

    # Gangmakers: 1-4 per active street, one for other streets; Fatima has two streets. The
    # first gangmaker signed the street up, others joined later. Active, inactive and rejected
    # streets date from earlier campaigns, pending ones from the last days.
    fatima = person(
        "Fatima", GANGMAKER_ADDRESS, [(Role.GANGMAKER, None)], since=now - dt.timedelta(days=400)
    )
    counter = 0
    signed_up: list[dt.datetime] = []
    street_people: list[list[Person]] = []
    for _area, name, _section, status, _themes in STREETS:
        if name in GANGMAKER_STREETS:
            created = fatima.created_at + dt.timedelta(days=1)
        elif status == "p":
            created = now - dt.timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 20))
        else:
            created = now - dt.timedelta(days=rng.randint(380, 1100))
        crew = [fatima] if name in GANGMAKER_STREETS else []
        extra = 1 if crew or status != "a" else rng.choice([1, 1, 2, 2, 3, 4])
        for _ in range(extra):
            counter += 1
            since = _between(rng, created, now) if crew else created - dt.timedelta(hours=1)
            crew.append(
                person(
                    rng.choice(FIRST_NAMES),
                    f"demo-gm-{counter:03d}",
                    [(Role.GANGMAKER, None)],
                    language=rng.choice(LANGUAGES),
                    since=since,
                )
            )
        signed_up.append(created)
        street_people.append(crew)
    residents = [
        person(
            rng.choice(FIRST_NAMES),
            f"demo-resident-{n + 1:02d}",
            [(Role.RESIDENT, None)],
            language=rng.choice(LANGUAGES),
            since=now - dt.timedelta(days=rng.randint(5, 300)),
        )
        for n in range(8)
    ]
    await session.flush()

    streets: list[Street] = []
    for (area_name, name, section, code, themes), crew, created in zip(
        STREETS, street_people, signed_up, strict=True
    ):
        status = _STREET_STATUS[code]
        name_key, section_key = street_keys(name, section)
        reviewed = None
        reason = None
        if status is not StreetStatus.PENDING:
            reviewed = min(created + dt.timedelta(days=rng.randint(1, 10)), now)
        if status is StreetStatus.REJECTED:
            reason = "Dubbele aanmelding of geen bewoners bereikbaar; bel de projectleider."
        elif status is StreetStatus.INACTIVE:
            reason = "Geen gangmaker meer actief in de straat."
        street = Street(
            organisation_id=org.id,
            area_id=areas[area_name].id,
            name=name,
            section=section,
            name_key=name_key,
            section_key=section_key,
            households=rng.randint(14, 90),
            theme_liefleed="L" in themes,
            theme_green="G" in themes,
            theme_clean="C" in themes,
            status=status,
            invite_code=codes.invite(),
            signed_up_by_id=crew[0].id,
            reviewed_at=reviewed,
            review_reason=reason,
            created_at=created,
        )
        street.memberships.extend(
            StreetMembership(
                person_id=p.id, is_gangmaker=True, created_at=max(p.created_at, created)
            )
            for p in crew
        )
        streets.append(street)
    active = [s for s in streets if s.status is StreetStatus.ACTIVE]
    for resident in residents:
        street = rng.choice(active)
        street.memberships.append(
            StreetMembership(
                person_id=resident.id, is_gangmaker=False, created_at=resident.created_at
            )
        )
    session.add_all(streets)
    await session.flush()
    for street in streets:
        if street.reviewed_at is not None:
            audit.append(
                AuditEntry(
                    organisation_id=org.id,
                    at=street.reviewed_at,
                    actor_person_id=area_leader[area_names[street.area_id]].id,
                    action="street.rejected"
                    if street.status is StreetStatus.REJECTED
                    else "street.approved",
                    object_type="street",
                    object_id=street.id,
                    details={},
                )
            )

    # Budget requests: planned ones in the open round, Fatima's history, the rest at random.
    crews = {s.name: crew for s, crew in zip(streets, street_people, strict=True)}
    opened = sorted((r for r in rounds if r.opens_at <= now), key=lambda r: r.opens_at)
    earlier = [r for r in reversed(opened) if r is not main]
    plan: list[tuple[Street, Round, RequestStatus]] = []
    for street in active:
        if street.name in GANGMAKER_STREETS:
            if street.name in PLANNED:
                plan.append((street, main, PLANNED[street.name]))
            plan += zip(
                [street] * len(earlier), earlier, GANGMAKER_HISTORY[street.name], strict=False
            )
            if not earlier and street.name == GANGMAKER_STREETS[0]:
                plan.append((street, main, S.WITHDRAWN))
            continue
        for r in opened:
            if r is main and street.name in PLANNED:
                plan.append((street, r, PLANNED[street.name]))
            elif rng.random() < 0.55:
                plan.append((street, r, _random_status(rng, r, now)))

    requests: list[BudgetRequest] = []
    for street, r, status in plan:
        area_name = area_names[street.area_id]
        fields = _request_fields(
            rng, codes, status=status, round_=r, now=now, tz=tz, households=street.households or 30
        )
        requester = fatima if fatima in crews[street.name] else crews[street.name][0]
        decided_by = area_leader[area_name].id if fields["decided_at"] else None
        point = None
        if fields["paid_at"] is not None:
            point = rng.choice(points_by_area.get(area_name) or list(points.values()))
        requests.append(
            BudgetRequest(
                round_id=r.id,
                street_id=street.id,
                requested_by_id=requester.id,
                decided_by_id=decided_by,
                paid_at_point_id=point.id if point else None,
                **fields,
            )
        )
    session.add_all(requests)
    await session.flush()
    for request in requests:
        if request.decided_at is not None:
            audit.append(
                AuditEntry(
                    organisation_id=org.id,
                    at=request.decided_at,
                    actor_person_id=request.decided_by_id,
                    action="budget.rejected"
                    if request.status is S.REJECTED
                    else "budget.partly_approved"
                    if request.awarded_cents != request.amount_cents
                    else "budget.approved",
                    object_type="budget_request",
                    object_id=request.id,
                    details={
                        "reference": request.reference,
                        "awarded_cents": request.awarded_cents,
                    },
                )
            )
        if request.paid_at is not None:
            assert request.paid_at_point_id is not None
            payout_person = point_staff[request.paid_at_point_id].id
            audit.append(
                AuditEntry(
                    organisation_id=org.id,
                    at=request.paid_at,
                    actor_person_id=payout_person,
                    action="payout.redeemed",
                    object_type="budget_request",
                    object_id=request.id,
                    details={
                        "reference": request.reference,
                        "awarded_cents": request.awarded_cents,
                        "payout_point_id": request.paid_at_point_id,
                    },
                )
            )

    # Lief & Leed: this year's pot for every active Lief & Leed street, and attentions from it.
    start = dt.date(year, 1, 1)
    for street in active:
        if not street.theme_liefleed:
            continue
        pot = LiefLeedPot(
            street_id=street.id,
            year=year,
            amount_cents=org.liefleed_pot_cents,
            created_at=_local(tz, year, 1, 1),
        )
        session.add(pot)
        await session.flush()
        crew = crews[street.name]
        count = 4 if fatima in crew else rng.randint(0, 6)
        for row in _attention_rows(
            rng, count=count, pot_cents=pot.amount_cents, start=start, today=today
        ):
            logged_at = _given_at(row["given_on"], tz, now)
            present = [p for p in crew if p.created_at <= logged_at] or crew[:1]
            logger = fatima if fatima in crew else rng.choice(present)
            session.add(
                Attention(pot_id=pot.id, logged_by_id=logger.id, created_at=logged_at, **row)
            )
    session.add_all(audit)
    await session.flush()
    return org


def _random_status(
    rng: random.Random, round_: Round | dict[str, Any], now: dt.datetime
) -> RequestStatus:
    """Mostly settled requests in a closed round, mostly fresh ones in an open round."""
    if _get(round_, "closes_at") <= now:
        weights = {
            S.REPORTED: 45,
            S.PAID: 15,
            S.APPROVED: 4,
            S.PARTLY_APPROVED: 4,
            S.REJECTED: 10,
            S.WITHDRAWN: 8,
            S.SUBMITTED: 2,
        }
    else:
        weights = {
            S.SUBMITTED: 35,
            S.APPROVED: 18,
            S.PARTLY_APPROVED: 8,
            S.REJECTED: 8,
            S.WITHDRAWN: 6,
            S.PAID: 15,
            S.REPORTED: 10,
        }
    return rng.choices(list(weights), weights=list(weights.values()))[0]


async def _demo_person(session: AsyncSession, org_id: int, address: str) -> Person | None:
    return await session.scalar(
        select(Person)
        .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
        .where(
            Person.organisation_id == org_id,
            ChannelIdentity.channel == Channel.CONSOLE,
            ChannelIdentity.address == address,
        )
    )


async def _summary(
    session: AsyncSession, org: Organisation, *, now: dt.datetime, created: bool
) -> DemoSummary:
    """Read back what the demo holds, so a second run reports the same as the first."""
    street_ids = select(Street.id).where(Street.organisation_id == org.id)
    person_ids = select(Person.id).where(Person.organisation_id == org.id)
    pot_ids = select(LiefLeedPot.id).where(LiefLeedPot.street_id.in_(street_ids))
    counted: dict[str, Any] = {
        "areas": select(func.count(Area.id)).where(Area.organisation_id == org.id),
        "payout_points": select(func.count(PayoutPoint.id)).where(
            PayoutPoint.organisation_id == org.id
        ),
        "rounds": select(func.count(Round.id)).where(Round.organisation_id == org.id),
        "streets": select(func.count(Street.id)).where(Street.organisation_id == org.id),
        "people": select(func.count(Person.id)).where(Person.organisation_id == org.id),
        "requests": select(func.count(BudgetRequest.id)).where(
            BudgetRequest.street_id.in_(street_ids)
        ),
        "pots": select(func.count(LiefLeedPot.id)).where(LiefLeedPot.id.in_(pot_ids)),
        "attentions": select(func.count(Attention.id)).where(Attention.pot_id.in_(pot_ids)),
        "identities": select(func.count(ChannelIdentity.id)).where(
            ChannelIdentity.person_id.in_(person_ids)
        ),
    }
    counts = {key: int(await session.scalar(query) or 0) for key, query in counted.items()}

    delfshaven = select(Area.id).where(Area.organisation_id == org.id, Area.name == "Delfshaven")
    uncashed = (
        select(BudgetRequest.payout_code)
        .join(Street, Street.id == BudgetRequest.street_id)
        .where(
            Street.area_id.in_(delfshaven),
            BudgetRequest.status.in_([S.APPROVED, S.PARTLY_APPROVED]),
            BudgetRequest.payout_code.is_not(None),
            BudgetRequest.paid_at.is_(None),
        )
    )
    payout_code = await session.scalar(
        uncashed.where(Street.name == PAYOUT_STREET).order_by(BudgetRequest.id).limit(1)
    ) or await session.scalar(uncashed.order_by(BudgetRequest.id).limit(1))
    point_id = await session.scalar(
        select(PayoutPoint.id).where(
            PayoutPoint.organisation_id == org.id, PayoutPoint.name == DEMO_PAYOUT_POINT
        )
    )

    open_round_id = street_id = open_round_name = None
    fatima = await _demo_person(session, org.id, GANGMAKER_ADDRESS)
    if fatima is not None:
        candidates = await session.execute(
            select(Round.id, Street.id)
            .select_from(Street)
            .join(StreetMembership, StreetMembership.street_id == Street.id)
            .join(Round, Round.organisation_id == Street.organisation_id)
            .where(
                StreetMembership.person_id == fatima.id,
                StreetMembership.is_gangmaker.is_(True),
                Street.status == StreetStatus.ACTIVE,
                Round.opens_at <= now,
                Round.closes_at > now,
                ~select(BudgetRequest.id)
                .where(
                    BudgetRequest.round_id == Round.id,
                    BudgetRequest.street_id == Street.id,
                    BudgetRequest.status.not_in([S.WITHDRAWN, S.REJECTED]),
                )
                .exists(),
            )
            .order_by(Round.opens_at.desc(), Street.id)
            .limit(1)
        )
        row = candidates.first()
        if row is not None:
            open_round_id, street_id = row
            open_round = await session.get(Round, open_round_id)
            open_round_name = open_round.names["nl"] if open_round else None
    return DemoSummary(
        organisation_id=org.id,
        slug=org.slug,
        created=created,
        year=now.astimezone(ZoneInfo(org.timezone)).year,
        payout_code=payout_code,
        payout_point_id=point_id,
        open_round_id=open_round_id,
        requestable_street_id=street_id,
        open_round_name=open_round_name,
        counts=counts,
    )


# --- bulk data for benchmarks --------------------------------------------------------------

CHUNK = 2000
STREET_STEMS = [
    "Zaagmolen", "Bellamy", "Snelleman", "Tideman", "Blokland", "Korfmakers", "Gijsing",
    "Taanders", "Schoonderloo", "Hille", "Putse", "Rose", "Joseph", "Gouverne", "Zwart Jan",
    "Berg", "Zomerhof", "Vijverhof", "Crooswijkse", "Boezem", "Waterloo", "Paradijs", "Mijnsheren",
    "Brabantse", "Verboom", "Wolphaerts", "Meidoorn", "Peppel", "Wilgenplas", "Kamperfoelie",
    "Clematis", "Spinoza", "Reyer", "Kreekhuizen", "Romeyns", "Ommoord", "Prinsen", "Hesse",
    "Emma", "Raadhuis", "Molen", "Kerk", "Pastorie", "Abts", "Schelp", "Duin", "Strand", "Haven",
]  # fmt: skip
STREET_SUFFIXES = ["straat", "laan", "weg", "plein", "kade", "singel", "hof", "dijk"]


async def _new_ids(session: AsyncSession, model: type[Any], count: int) -> list[int]:
    """Ids for ``count`` new rows, taken up front so bulk inserts need no RETURNING (which
    costs a round trip per row batch on aiosqlite)."""
    if not count:
        return []
    table = model.__table__.name
    if session.get_bind().dialect.name == "postgresql":
        # Drawn from the table's sequence: safe next to other writers.
        result = await session.scalars(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
                " FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return list(result)
    # SQLite: the transaction holds the write lock (the organisation row was inserted first).
    start = (await session.scalar(select(func.max(model.id))) or 0) + 1
    return list(range(start, start + count))


async def _insert(
    session: AsyncSession, model: type[Any], rows: list[dict[str, Any]], *, ids: bool = False
) -> list[int]:
    """Insert ``rows`` in chunks; with ``ids``, give them ids first and return those."""
    new_ids: list[int] = []
    if ids:
        new_ids = await _new_ids(session, model, len(rows))
        for row, new_id in zip(rows, new_ids, strict=True):
            row["id"] = new_id
    for start in range(0, len(rows), CHUNK):
        # render_nulls: one executemany per chunk; otherwise the ORM splits the rows into a
        # batch per pattern of None values.
        await session.execute(
            insert(model).execution_options(render_nulls=True), rows[start : start + CHUNK]
        )
    return new_ids


async def seed_scale(
    session: AsyncSession,
    *,
    streets: int,
    people: int,
    requests: int,
    now: dt.datetime | None = None,
    one_round: bool = False,
    slug: str = "scale",
) -> ScaleSummary:
    """Bulk-insert a separate organisation ``slug`` with ``streets`` streets, ``people`` people
    (role grants and one identity each) and ``requests`` budget requests, plus Lief & Leed pots
    and attentions, for benchmarks.

    Requests are spread over the areas, the statuses and the rounds opened by ``now`` (one
    request per street and round while there are enough streets); with ``one_round`` all go to
    the round open at ``now`` (the design ceiling: 5,000 requests in one round). Flushes only.
    """
    now = _now(now)
    rng = random.Random(SEED)
    if await session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise Conflict("demo.organisation_exists", slug=slug)
    codes = _Codes(rng, await _taken_codes(session))
    tz = ZoneInfo("Europe/Amsterdam")
    year = now.astimezone(tz).year
    long_ago = now - dt.timedelta(days=3 * 365)

    org = Organisation(slug=slug, name=f"Benchmark {slug}", timezone=tz.key, created_at=long_ago)
    session.add(org)
    await session.flush()
    area_ids = await _insert(
        session,
        Area,
        [
            {"organisation_id": org.id, "name": name, "contact_text": f"Projectleider {name}"}
            for name, _, _ in AREAS
        ],
        ids=True,
    )
    point_count = max(len(area_ids), min(40, streets // 100))
    point_areas = [area_ids[i % len(area_ids)] for i in range(point_count)]
    point_ids = await _insert(
        session,
        PayoutPoint,
        [
            {
                "organisation_id": org.id,
                "area_id": a,
                "name": f"Buurthuis {i + 1}",
                "address": f"Buurtweg {i + 1}, Rotterdam",
                "opening_hours": "ma-vr 10-16",
            }
            for i, a in enumerate(point_areas)
        ],
        ids=True,
    )
    round_rows = _round_rows(org.id, tz, now)
    round_ids = await _insert(session, Round, round_rows, ids=True)  # sets row["id"]
    main = _main_round(round_rows, now)
    opened = [r for r in round_rows if r["opens_at"] <= now]
    request_rounds = [main] if one_round else opened

    # People: an admin, a leader per area, a person per payout point, then gangmakers (85%)
    # and residents. One identity each, spread over the channels.
    person_rows = []
    for _ in range(people):
        since = now - dt.timedelta(days=rng.randint(1, 900))
        person_rows.append(
            {
                "organisation_id": org.id,
                "first_name": rng.choice(FIRST_NAMES),
                "language": rng.choice(LANGUAGES),
                "consent_at": since,
                "created_at": since,
                "announcements_opt_out": rng.random() < 0.03,
                "reminder_minute": None,
                "quiet_start_minute": None,
                "quiet_end_minute": None,
                "reminders_off": [],
            }
        )
    person_ids = await _insert(session, Person, person_rows, ids=True)
    grants: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    gangmakers: list[int] = []
    residents: list[int] = []
    leader_of: dict[int, int] = {}
    fixed = 1 + len(area_ids) + len(point_ids)
    for index, person_id in enumerate(person_ids):
        role, area_id, point_id = Role.GANGMAKER, None, None
        if index == 0:
            role = Role.ADMIN
        elif index <= len(area_ids):
            role, area_id = Role.LEADER, area_ids[index - 1]
            leader_of[area_id] = person_id
        elif index < fixed:
            role, point_id = Role.PAYOUT, point_ids[index - 1 - len(area_ids)]
        elif rng.random() < 0.15:
            role = Role.RESIDENT
        if role is Role.GANGMAKER:
            gangmakers.append(person_id)
        elif role is Role.RESIDENT:
            residents.append(person_id)
        grants.append(
            {"person_id": person_id, "role": role, "area_id": area_id, "payout_point_id": point_id}
        )
        channel = rng.choices(
            [Channel.WHATSAPP, Channel.TELEGRAM, Channel.CONSOLE], weights=[60, 35, 5]
        )[0]
        address = {
            Channel.WHATSAPP: f"316{org.id:04d}{index:07d}",
            Channel.TELEGRAM: f"{org.id}{index:09d}",
            Channel.CONSOLE: f"{slug}-{index}",
        }[channel]
        identities.append(
            {
                "person_id": person_id,
                "channel": channel,
                "address": address,
                "last_inbound_at": None,
                "reachable": True,
                "preferred": True,
                "created_at": person_rows[index]["created_at"],
            }
        )
    await _insert(session, RoleGrant, grants)
    await _insert(session, ChannelIdentity, identities)

    # Streets: those that get a request are active (a few inactive); the rest in every status.
    with_request = min(streets, requests)
    stems = [f"{stem}{suffix}" for stem in STREET_STEMS for suffix in STREET_SUFFIXES]
    street_rows = []
    crew_of: list[list[int]] = [[] for _ in range(streets)]
    for n, person_id in enumerate(gangmakers):
        if streets:
            crew_of[n % streets].append(person_id)
    for i in range(streets):
        if i < with_request:
            status = StreetStatus.ACTIVE if rng.random() < 0.92 else StreetStatus.INACTIVE
        else:
            status = rng.choices(
                [
                    StreetStatus.ACTIVE,
                    StreetStatus.PENDING,
                    StreetStatus.INACTIVE,
                    StreetStatus.REJECTED,
                ],
                weights=[60, 20, 12, 8],
            )[0]
        name = stems[i % len(stems)]
        block = i // len(stems)
        section = f"{block * 50 + 1}-{block * 50 + 50}"
        name_key, section_key = street_keys(name, section)
        # Streets with a request were signed up before this year's rounds opened.
        created = now - dt.timedelta(
            days=rng.randint(380, 1100) if i < with_request else rng.randint(30, 1100)
        )
        if status is StreetStatus.PENDING:
            created = now - dt.timedelta(days=rng.randint(1, 14))
        liefleed = status is StreetStatus.ACTIVE and rng.random() < 0.45
        street_rows.append(
            {
                "organisation_id": org.id,
                "area_id": area_ids[i % len(area_ids)],
                "name": name,
                "section": section,
                "name_key": name_key,
                "section_key": section_key,
                "households": rng.randint(10, 120),
                "theme_liefleed": liefleed,
                "theme_green": rng.random() < 0.2,
                "theme_clean": rng.random() < 0.15,
                "status": status,
                "invite_code": codes.invite(),
                "signed_up_by_id": crew_of[i][0] if crew_of[i] else None,
                "reviewed_at": None if status is StreetStatus.PENDING else created,
                "review_reason": None,
                "created_at": created,
            }
        )
    street_ids = await _insert(session, Street, street_rows, ids=True)
    memberships = [
        {
            "street_id": street_ids[i],
            "person_id": p,
            "is_gangmaker": True,
            "created_at": street_rows[i]["created_at"],
        }
        for i in range(streets)
        for p in crew_of[i]
    ]
    memberships += [
        {
            "street_id": street_ids[n % streets],
            "person_id": p,
            "is_gangmaker": False,
            "created_at": street_rows[n % streets]["created_at"],
        }
        for n, p in enumerate(residents)
        if streets
    ]
    await _insert(session, StreetMembership, memberships)

    # Requests: request i goes to street i % streets and a round that street has no request in
    # yet (unique while requests <= streets x rounds).
    points_of: dict[int, list[int]] = {}
    for point_id, area_id in zip(point_ids, point_areas, strict=True):
        points_of.setdefault(area_id, []).append(point_id)
    request_rows = []
    for i in range(requests if streets else 0):
        s = i % streets
        r = request_rounds[(i // streets + i) % len(request_rounds)]
        status = _random_status(rng, r, now)
        row = _request_fields(
            rng,
            codes,
            status=status,
            round_=r,
            now=now,
            tz=tz,
            households=street_rows[s]["households"],
        )
        area_id = street_rows[s]["area_id"]
        point = rng.choice(points_of[area_id]) if row["paid_at"] else None
        row.update(
            round_id=r["id"],
            street_id=street_ids[s],
            requested_by_id=street_rows[s]["signed_up_by_id"],
            decided_by_id=leader_of.get(area_id) if row["decided_at"] else None,
            paid_at_point_id=point,
        )
        request_rows.append(row)
    await _insert(session, BudgetRequest, request_rows)

    # Lief & Leed: a pot for each Lief & Leed street, about two attentions per pot.
    ll_streets = [i for i, row in enumerate(street_rows) if row["theme_liefleed"]]
    pot_ids = await _insert(
        session,
        LiefLeedPot,
        [
            {
                "street_id": street_ids[i],
                "year": year,
                "amount_cents": org.liefleed_pot_cents,
                "created_at": _local(tz, year, 1, 1),
            }
            for i in ll_streets
        ],
        ids=True,
    )
    today = now.astimezone(tz).date()
    attention_rows = []
    for i, pot_id in zip(ll_streets, pot_ids, strict=True):
        logger = street_rows[i]["signed_up_by_id"]
        for row in _attention_rows(
            rng,
            count=rng.randint(0, 4),
            pot_cents=org.liefleed_pot_cents,
            start=dt.date(year, 1, 1),
            today=today,
        ):
            row.update(
                pot_id=pot_id, logged_by_id=logger, created_at=_given_at(row["given_on"], tz, now)
            )
            attention_rows.append(row)
    await _insert(session, Attention, attention_rows)

    return ScaleSummary(
        organisation_id=org.id,
        round_ids=round_ids,
        main_round_id=main["id"],
        counts={
            "areas": len(area_ids),
            "payout_points": len(point_ids),
            "rounds": len(round_ids),
            "streets": streets,
            "people": people,
            "role_grants": len(grants),
            "identities": len(identities),
            "memberships": len(memberships),
            "requests": len(request_rows),
            "pots": len(pot_ids),
            "attentions": len(attention_rows),
        },
    )
