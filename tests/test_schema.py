"""The migrated schema is exactly what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Base
from bot.models.base import UTCDateTime


def _diff(connection: object) -> list[object]:
    context = MigrationContext.configure(
        connection,  # type: ignore[arg-type]
        opts={"compare_type": True, "target_metadata": Base.metadata},
    )
    return compare_metadata(context, Base.metadata)


async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_every_model_table_exists_after_upgrade(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_timestamps_are_stored_timezone_aware() -> None:
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if column.name.endswith("_at"):
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name}"
