"""Privacy rights: the registry covers every table, the export shows what is stored, and after
deletion no table holds the person's id, chat address, name or own free texts (both databases).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select

from bot.db import transaction
from bot.models import (
    Announcement,
    Area,
    Attention,
    AttentionKind,
    AuditEntry,
    Base,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    ConversationState,
    Delivery,
    LiefLeedPot,
    OccasionType,
    Person,
    Reminder,
    RequestStatus,
    Role,
    Street,
    StreetSubscription,
)
from bot.services import assisted, neighbours, notify, privacy, signals
from tests import factories as f
from tests.chat import ChatHarness, make_world
from tests.factories import NOW

# --- the registry ----------------------------------------------------------------------------

PERSONISH = ("person_id", "_by_id")  # integer columns that point at a person without a FK


def _points_at(column, table: str) -> bool:
    return any(fk.column.table.name == table for fk in column.foreign_keys)


def _free_text(column) -> bool:
    kind = column.type
    if isinstance(kind, Text | JSON):
        return True
    return isinstance(kind, String) and (kind.length or 0) >= 100


def registry_problems() -> list[str]:
    """Everything the registry misses; a new table or column from any branch shows up here."""
    problems = []
    known = {"alembic_version"}
    for name, table in Base.metadata.tables.items():
        rule = privacy.RULES.get(name)
        if rule is None:
            problems.append(f"table {name} is not in bot/services/privacy.py REGISTRY")
            continue
        covered_person = set(rule.delete) | set(rule.nullify)
        listed = covered_person | set(rule.identity) | set(rule.texts) | set(rule.plain)
        for column_name in listed:
            if column_name not in table.c:
                problems.append(f"{name}.{column_name} is in the registry but not in the table")
        personal = False
        for column in table.columns:
            where = f"{name}.{column.name}"
            if _points_at(column, "person") or (
                isinstance(column.type, Integer)
                and not column.foreign_keys
                and column.name.endswith(PERSONISH)
            ):
                personal = True
                if column.name not in covered_person:
                    problems.append(f"{where} points at a person: delete or nullify it")
            if _points_at(column, "channel_identity"):
                personal = True
                if column.name not in rule.identity and column.name not in covered_person:
                    problems.append(f"{where} points at a chat identity: list it in identity")
            if column.name in ("address", "chat_id", "phone", "phone_number"):
                personal = True
                if column.name not in rule.texts + rule.plain:
                    problems.append(f"{where} looks like a chat address: texts (or plain)")
        if personal or name == "person":
            for column in table.columns:
                if _free_text(column) and column.name not in rule.texts + rule.plain:
                    problems.append(
                        f"{name}.{column.name} is free text next to a person: texts or plain"
                    )
        known.add(name)
    for rule in privacy.REGISTRY:
        if rule.table not in known:
            problems.append(f"the registry names {rule.table}, which is no table")
    return problems


def test_the_registry_covers_every_table_and_personal_column() -> None:
    assert registry_problems() == []


def test_the_registry_check_catches_a_new_table() -> None:
    from sqlalchemy import Column, MetaData, Table

    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table(
        "from_another_branch",
        extra,
        Column("id", Integer, primary_key=True),
        Column("person_id", Integer, ForeignKey("person.id")),
        Column("note", Text),
    )
    original = Base.metadata
    try:
        Base.metadata = extra  # type: ignore[misc]
        problems = registry_problems()
    finally:
        Base.metadata = original  # type: ignore[misc]
    assert problems == ["table from_another_branch is not in bot/services/privacy.py REGISTRY"]


# --- export and deletion, checked on every table ---------------------------------------------

NAME, ADDRESS = "Zyxwina", "chat-771234"
OWN_TEXTS = ("MARKER-draft", "MARKER-signal-note", "MARKER-delivery")


async def _rich_person(s) -> dict[str, int]:
    """A gangmaker with something in every kind of table, plus others around her."""
    org = await f.organisation(s)
    area = await f.area(s, org)
    other_area = await f.area(s, org, "Charlois")
    welfare = await f.person(s, org, "Welzijn", address="welfare")
    area.welfare_contact_id = welfare.id
    me = await f.person(s, org, NAME, channel=Channel.TELEGRAM, address=ADDRESS)
    s.add(ChannelIdentity(person_id=me.id, channel=Channel.CONSOLE, address="zyx-console"))
    other_area.welfare_contact_id = me.id  # she is also a welfare contact
    leader = await f.person(s, org, "Sanne", roles=((Role.LEADER, area.id),))
    buddy = await f.person(s, org, "Kees")
    street = await f.street(s, org, area, gangmakers=(me, buddy))
    street.signed_up_by_id = me.id
    round_ = await f.round_(s, org)
    request = BudgetRequest(
        reference="B-PRIV01",
        round_id=round_.id,
        street_id=street.id,
        requested_by_id=me.id,
        activity="Straatfeest",
        activity_date=dt.date(2026, 6, 1),
        expected_participants=30,
        amount_cents=15000,
        status=RequestStatus.PAID,
        awarded_cents=12000,
        decided_by_id=leader.id,
        paid_at=NOW,
    )
    pot = LiefLeedPot(street_id=street.id, year=2026, amount_cents=15000)
    s.add_all([request, pot])
    await s.flush()
    s.add(
        Attention(
            pot_id=pot.id,
            logged_by_id=me.id,
            occasion="baby",
            occasion_type=OccasionType.LIEF,
            kind=AttentionKind.FLOWERS,
            cost_cents=1250,
            given_on=dt.date(2026, 5, 1),
            house_number="12",
        )
    )
    s.add(Announcement(organisation_id=org.id, created_by_id=me.id, texts={"nl": "Hoi allemaal"}))
    s.add(Reminder(person_id=me.id, rule="report_due", object_key="x", due_at=NOW))
    await notify.notify(s, person=me, key="test:me", text="MARKER-delivery", now=NOW)
    identity = await s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == ADDRESS))
    s.add(
        ConversationState(
            identity_id=identity.id,
            dialog="budget",
            step="plan",
            data={"activity": "MARKER-draft"},
            options=[],
            updated_at=NOW,
        )
    )
    await s.flush()
    await signals.pass_on_signal(
        s,
        actor=me,
        street_id=street.id,
        concern="loneliness",
        neighbour_agreed=True,
        house_number="7",
        note="MARKER-signal-note",
        now=NOW,
    )
    # She helps a neighbour on her phone; the neighbour's sign-up carries her as helper.
    acting = await assisted.start_session(
        s,
        helper=me,
        identity=identity,
        initials="PQ",
        house_number="3",
        language="tr",
        agreed=True,
        now=NOW,
    )
    helped = await f.street(s, org, area, "Snellemanstraat", gangmakers=(acting.person,))
    assert helped.helped_by_id == me.id  # the before_flush hook
    # ... and subscribes the neighbour to her street's news, which comes to her chat; she
    # sent a tip herself (counted for the daily limit).
    await neighbours.subscribe(s, person=acting.person, street=street, now=NOW)
    subscription = await s.scalar(
        select(StreetSubscription).where(StreetSubscription.person_id == acting.person.id)
    )
    assert subscription.helped_by_id == me.id
    s.info.pop(assisted.INFO_KEY, None)
    await neighbours.subscribe(s, person=me, street=street, now=NOW)
    await neighbours.send_tip(s, person=me, street_id=street.id, text="Een baby op 4", now=NOW)
    return {"me": me.id, "buddy": buddy.id, "request": request.id, "neighbour": acting.person.id}


def _person_columns(table) -> list[str]:
    return [
        c.name
        for c in table.columns
        if _points_at(c, "person")
        or (isinstance(c.type, Integer) and not c.foreign_keys and c.name.endswith(PERSONISH))
    ]


async def _leftovers(s, person_id: int, needles: tuple[str, ...]) -> list[str]:
    """Every place in every table where the person's id, address, name or texts remain."""
    found = []
    for name, table in Base.metadata.tables.items():
        rows = (await s.execute(select(table))).mappings().all()
        person_columns = _person_columns(table)
        for row in rows:
            for column in person_columns:
                if row[column] == person_id:
                    found.append(f"{name}.{column} = {person_id}")
            if name == "audit_log" and (row["object_type"], row["object_id"]) == (
                "person",
                person_id,
            ):
                found.append(f"audit_log.object_id = {person_id} ({row['action']})")
            if name == "person" and row["id"] == person_id:
                found.append("person row")
            text = json.dumps({k: v for k, v in row.items()}, default=str, ensure_ascii=False)
            for needle in needles:
                if needle in text:
                    found.append(f"{name}: {needle!r}")
            if name == "audit_log" and f'"helped_by": {person_id}' in text:
                found.append("audit_log.details.helped_by")
    return found


async def test_export_then_deletion_leaves_nothing_of_the_person(sessions) -> None:
    async with transaction(sessions) as s:
        ids = await _rich_person(s)
    me_id = ids["me"]
    needles = (NAME, ADDRESS, "zyx-console", *OWN_TEXTS)

    async with transaction(sessions) as s:
        me = await s.get(Person, me_id)
        exported = await privacy.export_person(s, me, now=NOW)
    text = json.dumps(exported, ensure_ascii=False)
    for needle in needles:
        assert needle in text, needle  # the export shows what is stored
    tables = exported["tables"]
    assert {"person", "channel_identity", "signal", "budget_request", "assisted_session"} <= set(
        tables
    )
    assert [r["address"] for r in tables["channel_identity"]] == [ADDRESS, "zyx-console"]

    async with sessions() as s:
        assert len(await _leftovers(s, me_id, needles)) > 10  # the check does find things

    async with transaction(sessions) as s:
        me = await s.get(Person, me_id)
        await privacy.forget_person(s, me, now=NOW)

    async with sessions() as s:
        assert await _leftovers(s, me_id, needles) == []
        # What finance must keep stays, without her.
        request = await s.get(BudgetRequest, ids["request"])
        assert (request.awarded_cents, request.status, request.requested_by_id) == (
            12000,
            RequestStatus.PAID,
            None,
        )
        attention = await s.scalar(select(Attention))
        assert attention.cost_cents == 1250 and attention.logged_by_id is None
        # Others are untouched: the buddy, and the neighbour she helped (kept, no helper).
        assert await s.get(Person, ids["buddy"]) is not None
        assert await s.get(Person, ids["neighbour"]) is not None
        # Her chat carried the neighbour's street news: that subscription went with her.
        assert list(await s.scalars(select(StreetSubscription))) == []
        assert (
            await s.scalar(select(Street.helped_by_id).where(Street.name == "Snellemanstraat"))
            is None
        )
        # The welfare message she caused keeps no text; her own area contact role is gone.
        welfare_delivery = await s.scalar(select(Delivery).where(Delivery.key.like("signal:%")))
        assert welfare_delivery is not None and welfare_delivery.body is None
        assert (
            await s.scalar(select(Area.welfare_contact_id).where(Area.name == "Charlois")) is None
        )
        deleted = await s.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
        assert deleted.details["by_self"] is True and deleted.object_id is None


async def test_my_data_in_chat_sends_a_file(sessions, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PRIVACY_EXPORT_DIR", str(tmp_path))
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    await chat.choose("Instellingen")
    await chat.choose("Mijn gegevens")
    assert "Voornaam: Fatima" in chat.text or "Fatima" in chat.text
    await chat.choose("Stuur als bestand")
    [file_reply] = [r for r in chat.replies if r.media is not None]
    assert file_reply.text == "Hier is alles wat we over je bewaren, als bestand."
    assert file_reply.media.kind == "document"
    path = Path(file_reply.media.ref)
    assert path.parent == tmp_path and path.suffix == ".json"
    assert f"[document: {path}]" in chat.dump()  # the console prints the path
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["tables"]["person"][0]["first_name"] == "Fatima"
    assert data["tables"]["channel_identity"][0]["address"] == "gm"
    async with sessions() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "person.exported"))
        assert entry is not None
    # A day later the retention job removes the file.
    assert privacy.remove_old_exports(now=NOW.replace(year=2100), directory=tmp_path) == 1
    assert not path.exists()


async def test_privacy_notice_from_settings_and_first_contact(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="someone-new", language_hint="pl")
    await chat.send("hej")
    await chat.press("pl")
    assert chat.options[-1] == "Czytaj więcej"
    await chat.press("more")
    assert "Jak postępujemy z Twoimi danymi" in chat.text
    assert "Lief & Leed 2 lata" in chat.text and "90 dni" in chat.text
    assert chat.option_values == ["yes", "no", "more"]  # asked again
    assert (await chat.state()).step == "consent"

    resident = ChatHarness(sessions, address="resident")
    await resident.send("menu")
    await resident.choose("Instellingen")
    await resident.choose("Privacy")
    assert "Zo gaan we om met je gegevens" in resident.text
    assert "Een gesprek dat niet af is 30 dagen." in resident.text


@pytest.mark.parametrize("language", ["nl", "en", "tr", "ar", "pl", "bg", "uk", "pt", "pap", "so"])
def test_the_notice_exists_in_every_language(language: str) -> None:
    from bot.i18n import translator

    t = translator(language)
    title = t._("How we handle your data")
    assert title and (language == "en" or title != "How we handle your data")
