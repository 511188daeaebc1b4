"""Run Alembic from code: `gangmaker db upgrade` and the test fixtures use this."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        config.attributes["url"] = url
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""

    def _upgrade(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def upgrade_url(url: str, revision: str = "head") -> None:
    """Synchronous entry point for the command line (Alembic runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


def current_revision_sync(url: str) -> None:
    command.current(alembic_config(url), verbose=False)


def run(coro: object) -> None:  # pragma: no cover - tiny helper
    asyncio.run(coro)  # type: ignore[arg-type]
