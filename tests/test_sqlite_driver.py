"""bot/sqlite_driver.py: aiosqlite with one thread trip per statement gives the same results.

Runs on a real SQLite file through ``bot.db.make_engine`` (the engine every SQLite user gets).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import sqlite_driver
from bot.db import make_engine, make_sessionmaker, transaction
from bot.migrate import upgrade
from bot.models import Area, Organisation


@pytest.fixture
async def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    await upgrade(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_engine_uses_the_driver_and_wal(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.Connection)
        assert (await session.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await session.scalar(text("PRAGMA foreign_keys"))) == 1


async def test_rows_executemany_returning_and_streaming(sessions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        org = Organisation(slug="r", name="R")
        session.add(org)
        await session.flush()  # INSERT ... RETURNING
        assert org.id is not None
        # executemany
        await session.execute(
            insert(Area), [{"organisation_id": org.id, "name": f"Wijk {i:03d}"} for i in range(150)]
        )
    async with sessions() as session:
        assert await session.scalar(select(func.count(Area.id))) == 150
        names = list(await session.scalars(select(Area.name).order_by(Area.name)))
        assert names[0] == "Wijk 000" and names[-1] == "Wijk 149" and len(names) == 150
        # a streamed result is fetched in parts (fetchmany) and still gives every row once
        streamed = await session.stream_scalars(
            select(Area.name).order_by(Area.name).execution_options(yield_per=40)
        )
        assert [name async for name in streamed] == names
        first = (await session.execute(select(Area.name).order_by(Area.name))).first()
        assert first == ("Wijk 000",)


async def test_errors_reach_the_caller_and_the_connection_stays_usable(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        with pytest.raises(OperationalError):
            await session.execute(text("SELECT * FROM no_such_table"))
        await session.rollback()
        async with session.begin():
            session.add(Organisation(slug="dup", name="A"))
        with pytest.raises(IntegrityError):
            async with session.begin():
                session.add(Organisation(slug="dup", name="B"))
        assert await session.scalar(select(func.count(Organisation.id))) == 1


async def test_concurrent_transactions_queue_instead_of_failing(sessions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        session.add(Organisation(slug="r", name="R"))

    async def add(i: int) -> None:
        async with transaction(sessions) as session:
            org_id = await session.scalar(select(Organisation.id))
            await asyncio.sleep(0.01)  # hold the write lock while the others wait
            session.add(Area(organisation_id=org_id, name=f"Wijk {i}"))

    await asyncio.gather(*(add(i) for i in range(8)))
    async with sessions() as session:
        assert await session.scalar(select(func.count(Area.id))) == 8


@pytest.fixture
def reached():  # type: ignore[no-untyped-def]
    """The statements that reach SQLite, as the driver reports them."""
    statements: list[str] = []
    sqlite_driver.executed = statements.append
    yield statements
    sqlite_driver.executed = None


def _savepoints(statements: list[str]) -> list[str]:
    return [s for s in statements if "SAVEPOINT" in s.upper()]


async def test_a_savepoint_without_a_write_never_reaches_sqlite(sessions, reached) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        session.add(Organisation(slug="r", name="R"))
    reached.clear()
    async with transaction(sessions) as session:
        async with session.begin_nested():  # read only: released without a trip
            org = await session.scalar(select(Organisation))
        org.name = "Rotterdam"  # a write outside any savepoint stays
        await session.flush()
        savepoint = await session.begin_nested()  # read only, rolled back: nothing to undo
        await session.scalar(select(func.count(Organisation.id)))
        await savepoint.rollback()
    assert _savepoints(reached) == []
    assert any(s.startswith("SELECT") for s in reached)
    async with sessions() as session:
        assert await session.scalar(select(Organisation.name)) == "Rotterdam"


async def test_a_write_inside_a_savepoint_is_undone_by_its_rollback(sessions, reached) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        org = Organisation(slug="r", name="R")
        session.add(org)
        await session.flush()
        outer = await session.begin_nested()
        await session.scalar(select(Organisation.id))  # a read: the savepoint waits
        inner = await session.begin_nested()
        session.add(Area(organisation_id=org.id, name="Inner"))
        await session.flush()  # the write: both savepoints are taken first
        await inner.rollback()
        session.add(Area(organisation_id=org.id, name="Outer"))
        await session.flush()
        await outer.rollback()  # undoes "Outer" (and "Inner" was undone already)
        session.add(Area(organisation_id=org.id, name="Kept"))
        async with session.begin_nested():
            session.add(Area(organisation_id=org.id, name="Released"))
    async with sessions() as session:
        assert sorted(await session.scalars(select(Area.name))) == ["Kept", "Released"]
    # Taken in order before the first write, each undone or released once.
    sql = [" ".join(s.split()).upper() for s in _savepoints(reached)]
    assert sql[:4] == [
        "SAVEPOINT SA_SAVEPOINT_1",
        "SAVEPOINT SA_SAVEPOINT_2",
        "ROLLBACK TO SAVEPOINT SA_SAVEPOINT_2",
        "ROLLBACK TO SAVEPOINT SA_SAVEPOINT_1",
    ]


async def test_a_refused_write_inside_a_savepoint_leaves_the_transaction_usable(sessions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        session.add(Organisation(slug="dup", name="A"))
    async with transaction(sessions) as session:
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.scalar(select(Organisation.id))
                session.add(Organisation(slug="dup", name="B"))
                await session.flush()
        session.add(Organisation(slug="other", name="C"))
    async with sessions() as session:
        assert sorted(await session.scalars(select(Organisation.name))) == ["A", "C"]


async def _connection(path: Path, **kwargs: object) -> sqlite_driver.Connection:
    connect = sqlite_driver.creator(str(path), timeout=30)
    connection = await connect()
    if kwargs:
        for key, value in kwargs.items():
            setattr(connection, key, value)
    return connection


async def test_writers_of_one_process_get_the_database_in_arrival_order(tmp_path: Path) -> None:
    path = tmp_path / "fifo.db"
    first = await _connection(path)
    await first.execute("PRAGMA journal_mode=WAL")
    await first.execute("CREATE TABLE turn (id INTEGER PRIMARY KEY, writer INTEGER)")
    await first.commit()
    first.isolation_level = None
    others = [await _connection(path) for _ in range(6)]
    for other in others:
        other.isolation_level = None
    holder = await first.cursor()
    await holder.execute("BEGIN IMMEDIATE")  # holds the write lock while the others arrive

    async def write(number: int, connection: sqlite_driver.Connection) -> None:
        cursor = await connection.cursor()
        await cursor.execute("BEGIN IMMEDIATE")
        await cursor.execute("INSERT INTO turn (writer) VALUES (?)", (number,))
        await connection.commit()

    tasks = [asyncio.create_task(write(n, c)) for n, c in enumerate(others)]
    await asyncio.sleep(0)  # every writer is queued now
    await holder.execute("INSERT INTO turn (writer) VALUES (-1)")
    await first.commit()
    await asyncio.gather(*tasks)
    cursor = await first.cursor()
    await cursor.execute("SELECT writer FROM turn ORDER BY id")
    assert [row[0] for row in await cursor.fetchall()] == [-1, 0, 1, 2, 3, 4, 5]
    for connection in (first, *others):
        await connection.close()


async def test_a_writer_that_waits_too_long_gets_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    first = await _connection(path)
    first.isolation_level = None
    late = await _connection(path, _writer_timeout=0.05)
    late.isolation_level = None
    cursor = await first.cursor()
    await cursor.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await (await late.cursor()).execute("BEGIN IMMEDIATE")
    await first.rollback()  # the lock is free again: the late writer gets it at once
    await (await late.cursor()).execute("BEGIN IMMEDIATE")
    await late.rollback()
    for connection in (first, late):
        await connection.close()
