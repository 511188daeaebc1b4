"""A populated database upgrades from EVERY earlier Alembic revision to the head, data intact.

The revisions are discovered from the script directory (new ones are chained in at merge time,
nothing here names them). For each earlier revision: an empty database is brought to exactly
that revision, filled with plain INSERTs that fit the tables as they are *at that revision*
(read back from the database, not from today's models), upgraded to the head, and then:

- every row seeded is still there with the same values in every column that still exists;
- today's models load every row of every table (the code reads the old data).

On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.engine import Connection

from bot.db import make_engine, make_sessionmaker
from bot.migrate import alembic_config, upgrade
from bot.models import Base, Organisation
from tests.conftest import _migrated

SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPTS.get_current_head()
EARLIER = [rev.revision for rev in SCRIPTS.walk_revisions() if rev.revision != HEAD][::-1]
ROWS_PER_TABLE = 3
WHEN = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)


def test_revisions_are_discovered() -> None:
    assert HEAD is not None
    assert "0001" in EARLIER  # the first revision is always an earlier one once more exist


def _value(table: str, column: Any, n: int) -> Any:
    """A value for ``column`` of row ``n`` that fits its type (enums: a value today's model
    knows; strings: unique and within the length)."""
    model_col = Base.metadata.tables.get(table, None)
    model_col = model_col.columns.get(column.name) if model_col is not None else None
    enums = getattr(getattr(model_col, "type", None), "enums", None)
    if enums:
        return list(enums)[n % len(enums)]
    kind = column.type
    if isinstance(kind, Boolean):
        return n % 2 == 0
    if isinstance(kind, DateTime):
        return WHEN + dt.timedelta(days=n)
    if isinstance(kind, Date):
        return (WHEN + dt.timedelta(days=n)).date()
    if isinstance(kind, Integer | BigInteger):
        return 100 + n
    if isinstance(kind, Float | Numeric):
        return 1.5 + n
    if isinstance(kind, JSON):
        return {} if model_col is None or "list" not in repr(model_col.default) else []
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 40
        if column.name in ("timezone",):
            return "Europe/Amsterdam"
        if column.name in ("language", "default_language"):
            return "nl"
        return f"{column.name[:6]}{table[:4]}{n}"[:length]
    raise AssertionError(f"no seed value for {table}.{column.name} ({kind!r})")


def _seed(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    meta = MetaData()
    meta.reflect(connection)
    seeded: dict[str, list[dict[str, Any]]] = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = []
        for n in range(ROWS_PER_TABLE):
            row: dict[str, Any] = {}
            for column in table.columns:
                fks = list(column.foreign_keys)
                if fks:
                    parent = fks[0].column
                    parents = seeded.get(parent.table.name)
                    if parents:
                        row[column.name] = parents[n % len(parents)][parent.name]
                    elif column.nullable:
                        row[column.name] = None
                    else:
                        raise AssertionError(f"{table.name}.{column.name}: no parent row")
                    continue
                if (
                    column.primary_key
                    and isinstance(column.type, Integer)
                    and len(table.primary_key.columns) == 1
                ):
                    row[column.name] = n + 1
                    continue
                row[column.name] = _value(table.name, column, n)
            connection.execute(table.insert().values(**row))
            rows.append(row)
        seeded[table.name] = rows
    # PostgreSQL: the sequences behind the ids set by hand must move past them.
    if connection.dialect.name == "postgresql":
        for name in seeded:
            pk = list(meta.tables[name].primary_key.columns)
            if len(pk) != 1:
                continue
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": pk[0].name}
            ).scalar()
            if sequence:
                connection.execute(text("SELECT setval(:s, :n)"), {"s": sequence, "n": 1000})
    return seeded


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        a = a if a.tzinfo else a.replace(tzinfo=dt.UTC)
        b = b if b.tzinfo else b.replace(tzinfo=dt.UTC)
    return a == b


def _check(connection: Connection, seeded: dict[str, list[dict[str, Any]]]) -> int:
    meta = MetaData()
    meta.reflect(connection)
    checked = 0
    for name, rows in seeded.items():
        table: Table = meta.tables[name]
        pk = [c.name for c in table.primary_key.columns]
        for row in rows:
            where = [table.c[k] == row[k] for k in pk]
            found = connection.execute(select(table).where(*where)).mappings().one_or_none()
            assert found is not None, f"{name} row {row} is gone after the upgrade"
            for key, value in row.items():
                if key in found:
                    assert _same(found[key], value), (name, key, found[key], value)
            checked += 1
    return checked


@pytest.mark.parametrize("revision", EARLIER)
async def test_a_populated_database_upgrades_to_head(
    revision: str, db_url: str, tmp_path: Path
) -> None:
    url = db_url
    if db_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"  # empty, not the migrated template
    engine = make_engine(url)
    try:
        if url.startswith("postgresql"):
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            _migrated.pop("pg", None)  # the next test migrates afresh
        await upgrade(engine, revision)
        async with engine.begin() as conn:
            seeded = await conn.run_sync(_seed)
        assert sum(map(len, seeded.values())) >= ROWS_PER_TABLE * 10

        await upgrade(engine)  # to the head

        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
            checked = await conn.run_sync(_check, seeded)
        assert checked == sum(map(len, seeded.values()))

        # Today's models read every old row.
        async with make_sessionmaker(engine)() as session:
            loaded = 0
            for mapper in Base.registry.mappers:
                model = mapper.class_
                loaded += len((await session.scalars(select(model))).all())
        assert loaded >= checked
        # And a new row still gets a fresh id next to the old ones.
        async with engine.begin() as conn:
            await conn.execute(
                Organisation.__table__.insert().values(
                    slug="after-upgrade",
                    name="After",
                    timezone="Europe/Amsterdam",
                    default_language="nl",
                    liefleed_pot_cents=0,
                    max_rounds_per_year=1,
                )
            )
    finally:
        await engine.dispose()
