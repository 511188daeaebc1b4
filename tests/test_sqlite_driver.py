"""bot/sqlite_driver.py: aiosqlite with one thread trip per statement gives the same results.

Runs on a real SQLite file through ``bot.db.make_engine`` (the engine every SQLite user gets).
"""

from __future__ import annotations

import asyncio
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
