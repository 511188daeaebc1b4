"""Privacy rights: what we store about a person, as a file, and deleting it (AVG/GDPR).

The heart is :data:`REGISTRY`: one :class:`TableRule` per table in ``Base.metadata``, saying
which columns point at a person (or at one of their chat identities) and what happens to them
when the person is forgotten:

- ``delete``: rows where this column is the person are deleted (their own rows);
- ``nullify``: the column is set to NULL and the row stays (it belongs to the street or the
  organisation: awarded amounts, payouts, Lief & Leed spending, signed-up streets);
- ``identity``: rows pointing at one of the person's chat identities are deleted;
- ``texts``: free-text columns of the rows that are deleted or kept, for the export and so a
  reviewer sees them.

``tests/test_privacy.py`` fails when a table is missing, or a column with a foreign key to
``person`` or ``channel_identity`` (or an integer column named like a person reference) is not
covered — so a new table from another branch is caught when it is merged. Tables with no
personal data are listed too, with ``note`` saying why.

:func:`export_person` collects every row the registry finds for the person (JSON-ready) and
:func:`write_export` writes it to a file; :func:`forget_person` deletes and anonymises. The
audit log keeps that an export or a deletion happened, without the person's id.

No error keys: nothing here is something a person can do wrong.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String, Table, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    AuditEntry,
    Base,
    ChannelIdentity,
    Delivery,
    Person,
    Signal,
    StreetSubscription,
    utcnow,
)
from bot.services import audit

Custom = Callable[[AsyncSession, int, list[int]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TableRule:
    """What happens to one table's personal columns when a person is forgotten."""

    table: str
    delete: tuple[str, ...] = ()  # person columns: rows of the person are deleted
    nullify: tuple[str, ...] = ()  # person columns: set to NULL, the row stays
    identity: tuple[str, ...] = ()  # channel-identity columns: rows of the person are deleted
    texts: tuple[str, ...] = ()  # free-text columns in those rows (exported; go with the row)
    plain: tuple[str, ...] = ()  # longer text columns that hold nothing about a person
    note: str = ""  # why, for tables with no personal data or a special rule
    export: bool = True  # include the person's rows in the export file
    custom: Custom | None = field(default=None, compare=False)


async def _anonymise_audit(session: AsyncSession, person_id: int, identity_ids: list[int]) -> None:
    """Audit entries stay (who decided what, when) but lose the person: the actor, the object
    when it is the person, and a ``helped_by`` in the details."""
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_person_id == person_id)
        .values(actor_person_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.object_type == "person", AuditEntry.object_id == person_id)
        .values(object_id=None)
        .execution_options(synchronize_session=False)
    )
    marker = f'%"helped_by": {person_id}%'
    for entry in await session.scalars(
        select(AuditEntry).where(cast(AuditEntry.details, String).like(marker))
    ):
        details = dict(entry.details or {})
        if details.get("helped_by") == person_id:
            details.pop("helped_by")
            entry.details = details


async def _forget_signals(session: AsyncSession, person_id: int, identity_ids: list[int]) -> None:
    """Signals the person passed on go, and so does the text of the welfare message they
    caused (the contact has read it in their own chat; our copy is not needed)."""
    ids = list(await session.scalars(select(Signal.id).where(Signal.reported_by_id == person_id)))
    if ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.key.in_([signal_delivery_key(i) for i in ids]))
            .values(body=None)
            .execution_options(synchronize_session=False)
        )


async def _forget_helped_news(
    session: AsyncSession, person_id: int, identity_ids: list[int]
) -> None:
    """A neighbour subscribed on a helper's phone: the news rows written for them on the
    helper's chat (headed with their initials and house number) go."""
    helpers = list(
        await session.scalars(
            select(StreetSubscription.helped_by_id).where(
                StreetSubscription.person_id == person_id,
                StreetSubscription.helped_by_id.is_not(None),
            )
        )
    )
    if helpers:
        await session.execute(
            delete(Delivery)
            .where(Delivery.person_id.in_(helpers), Delivery.key.like(f"news:%:{person_id}"))
            .execution_options(synchronize_session=False)
        )


def signal_delivery_key(signal_id: int) -> str:
    return f"signal:{signal_id}:welfare"


# Every table of Base.metadata, in no particular order. Keep it complete: the test says which
# table or column is missing.
REGISTRY: tuple[TableRule, ...] = (
    TableRule(
        "person",
        delete=("id",),
        texts=("first_name", "house_number", "reminders_off"),
        note="the person themselves",
    ),
    TableRule("channel_identity", delete=("person_id",), texts=("address",)),
    TableRule("role_grant", delete=("person_id",)),
    TableRule("conversation_state", identity=("identity_id",), texts=("data", "options")),
    TableRule("street_membership", delete=("person_id",)),
    TableRule("reminder", delete=("person_id",), texts=("params",)),
    TableRule(
        "delivery",
        delete=("person_id",),
        identity=("identity_id",),
        texts=("body", "last_error"),
        plain=("provider_message_id",),
        note="messages to the person go; deliveries to others never use their identity",
    ),
    TableRule(
        "assisted_session",
        delete=("helper_id", "person_id"),
        identity=("identity_id",),
        note="a session for or by the person ends",
    ),
    TableRule(
        "signal",
        delete=("reported_by_id",),
        nullify=("sent_to_id",),
        texts=("note", "house_number"),
        note="signals the person passed on go (with the welfare message text); "
        "as welfare contact the person is removed from the signals they received",
        custom=_forget_signals,
    ),
    TableRule(
        "street",
        nullify=("signed_up_by_id", "helped_by_id"),
        plain=("name", "section", "name_key", "section_key", "review_reason"),
        note="the street belongs to the neighbours: kept without who signed it up",
    ),
    TableRule(
        "budget_request",
        nullify=("requested_by_id", "decided_by_id", "helped_by_id"),
        texts=("activity", "plan", "decision_reason", "report_photos"),
        note="finance keeps awarded amounts and payouts per street, without the person",
    ),
    TableRule(
        "attention",
        nullify=("logged_by_id",),
        texts=("note", "house_number"),
        note="the street's Lief & Leed spending stays, without who logged it",
    ),
    TableRule(
        "announcement",
        nullify=("created_by_id",),
        texts=("texts",),
        plain=("audience", "audience_counts"),
        note="sent to many people: kept without its author",
    ),
    TableRule(
        "area",
        nullify=("welfare_contact_id",),
        plain=("name", "contact_text"),
        export=False,
        note="the area stays; it has no welfare contact until an admin sets one",
    ),
    TableRule(
        "audit_log",
        nullify=("actor_person_id",),
        texts=("details",),
        export=False,
        note="kept for accountability; actor, object and helped_by lose the person "
        "(the street and area it concerns are no personal data)",
        custom=_anonymise_audit,
    ),
    TableRule("organisation", note="no personal data"),
    TableRule(
        "payout_point",
        plain=("address", "name", "opening_hours"),
        note="a neighbourhood house: its postal address is no personal data",
    ),
    TableRule("round", note="no personal data"),
    TableRule("liefleed_pot", note="a street's pot: no personal data"),
    TableRule("alembic_version", note="the schema version"),
    TableRule("link_code", delete=("person_id",), note="a code to link a second app: 15 minutes"),
    TableRule("whatsapp_inbound", note="WhatsApp message ids seen (duplicates dropped): no person"),
    TableRule(
        "whatsapp_webhook_body",
        texts=("body", "chat"),
        note="a WhatsApp webhook body (a message's text) until it is handled, seconds; "
        "retention deletes any over a day old",
        export=False,
    ),
    TableRule(
        "whatsapp_conversation",
        note="a hash of a number a template wrote to, for the daily cap; pruned after a day",
    ),
    TableRule(
        "street_subscription",
        delete=("person_id", "helped_by_id"),
        note="a neighbour's street news; as helper the person's chat no longer carries the "
        "news of the neighbours they helped (those subscriptions go, and for a helped "
        "neighbour the news rows on the helper's chat go too)",
        custom=_forget_helped_news,
    ),
    TableRule(
        "neighbour_tip",
        delete=("person_id",),
        note="that the person sent a tip (for the daily limit): pruned after a day",
    ),
    TableRule("neighbour_invite", note="a street's invite code for neighbours: no person"),
    TableRule(
        "street_news",
        nullify=("created_by_id",),
        texts=("free_text",),
        plain=("slots",),
        note="news already sent to the street: kept without its author",
    ),
    TableRule(
        "web_account",
        delete=("person_id",),
        texts=("username",),
        plain=("password_hash",),
        note="the person's dashboard account",
    ),
    TableRule("processed_update", note="platform update ids seen (duplicates dropped): no person"),
    TableRule("channel_throttle", note="a channel's shared send rate: no person"),
    TableRule(
        "chat_throttle",
        plain=("address",),
        export=False,
        note="when a chat may get its next message; rows are pruned after a minute",
    ),
    TableRule(
        "web_login_failure",
        plain=("client_ip",),
        export=False,
        note="a wrong dashboard sign-in from an address, no account or person; rows are "
        "deleted after the lock-out window (15 minutes)",
    ),
)

RULES: dict[str, TableRule] = {rule.table: rule for rule in REGISTRY}


def tables() -> dict[str, Table]:
    return dict(Base.metadata.tables)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


async def _identity_ids(session: AsyncSession, person_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(ChannelIdentity.id)
            .where(ChannelIdentity.person_id == person_id)
            .order_by(ChannelIdentity.id)
        )
    )


def _conditions(table: Table, rule: TableRule, person_id: int, identity_ids: list[int]) -> list:
    conditions = [table.c[name] == person_id for name in (*rule.delete, *rule.nullify)]
    if identity_ids:
        conditions += [table.c[name].in_(identity_ids) for name in rule.identity]
    return conditions


async def export_person(
    session: AsyncSession, person: Person, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Every row the registry finds for the person, per table, JSON-ready. Recorded in the
    audit log as ``person.exported``."""
    now = now or utcnow()
    person_id = person.id
    identity_ids = await _identity_ids(session, person_id)
    result: dict[str, list[dict[str, Any]]] = {}
    for name, table in tables().items():
        rule = RULES.get(name)
        if rule is None or not rule.export:
            continue
        conditions = _conditions(table, rule, person_id, identity_ids)
        if not conditions:
            continue
        rows = (await session.execute(select(table).where(or_(*conditions)))).mappings().all()
        if rows:
            key = table.primary_key.columns.keys()[0] if table.primary_key.columns else None
            ordered = sorted(rows, key=lambda r: r[key]) if key else list(rows)
            result[name] = [{k: _json_value(v) for k, v in row.items()} for row in ordered]
    await audit.record(
        session,
        actor=person,
        action="person.exported",
        object_type="person",
        object_id=person_id,
        tables=sorted(result),
    )
    return {"exported_at": now.isoformat(), "person_id": person_id, "tables": result}


def export_dir() -> Path:
    """Where export files are written (``PRIVACY_EXPORT_DIR``, else a folder in the system's
    temporary directory). The retention job removes files older than a day."""
    configured = os.environ.get("PRIVACY_EXPORT_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "gangmaker-exports"


def write_export(data: dict[str, Any], *, directory: Path | None = None) -> Path:
    """Write the export as a JSON file readable only by us; returns its path."""
    folder = directory or export_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = str(data.get("exported_at", "")).replace(":", "").replace("-", "")[:15]
    handle, name = tempfile.mkstemp(
        prefix=f"my-data-{stamp}-", suffix=".json", dir=folder, text=True
    )
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False, indent=2, sort_keys=True)
    return Path(name)


def remove_old_exports(
    *, now: dt.datetime | None = None, directory: Path | None = None, max_age_hours: float = 24
) -> int:
    """Delete export files older than ``max_age_hours``; returns how many."""
    folder = directory or export_dir()
    if not folder.is_dir():
        return 0
    limit = (now or utcnow()).timestamp() - max_age_hours * 3600
    removed = 0
    for path in folder.glob("my-data-*.json"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def forget_person(
    session: AsyncSession,
    person: Person,
    *,
    actor: Person | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Delete the person and their own rows; rows the street or the organisation keeps lose
    the person (see :data:`REGISTRY`). Returns the number of rows touched per table. The
    audit entry ``person.deleted`` records that it happened, not who it was."""
    now = now or utcnow()
    person_id = person.id
    organisation_id = person.organisation_id
    by_self = actor is None or actor.id == person_id
    identity_ids = await _identity_ids(session, person_id)
    counts: dict[str, int] = {}
    all_tables = tables()

    # Custom rules and NULLs first (they may need rows that are deleted next), then the rows
    # of identities, then the person's own rows, the person last.
    for rule in REGISTRY:
        if rule.custom is not None:
            await rule.custom(session, person_id, identity_ids)
    for rule in REGISTRY:
        table = all_tables.get(rule.table)
        if table is None:
            continue
        for column in rule.nullify:
            result = await session.execute(
                update(table)
                .where(table.c[column] == person_id)
                .values({column: None})
                .execution_options(synchronize_session=False)
            )
            counts[rule.table] = counts.get(rule.table, 0) + (result.rowcount or 0)  # type: ignore[attr-defined]
    for rule in REGISTRY:
        table = all_tables.get(rule.table)
        if table is None or rule.table in ("person", "channel_identity", "role_grant"):
            continue
        conditions = [table.c[c] == person_id for c in rule.delete]
        if identity_ids:
            conditions += [table.c[c].in_(identity_ids) for c in rule.identity]
        if conditions:
            result = await session.execute(
                delete(table).where(or_(*conditions)).execution_options(synchronize_session=False)
            )
            counts[rule.table] = counts.get(rule.table, 0) + (result.rowcount or 0)  # type: ignore[attr-defined]
    # The ORM delete cascades to role grants and channel identities (and keeps loaded objects
    # of this session in step).
    await session.delete(person)
    await session.flush()
    counts["channel_identity"] = len(identity_ids)
    counts["person"] = 1

    entry = await audit.record(
        session,
        actor=None,
        action="person.deleted",
        object_type="person",
        object_id=None,
        organisation_id=organisation_id,
        by_self=by_self,
        rows=sum(counts.values()),
    )
    entry.at = now
    if not by_self and actor is not None:
        entry.actor_person_id = actor.id
    await session.flush()
    return counts
