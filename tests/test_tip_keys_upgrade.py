"""Revision 0011 takes the sender out of the keys of tip deliveries made before it:
"tip:<sender>:<token>:<gangmaker>" becomes "tip:<token>:<gangmaker>" (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text, update

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import Delivery
from tests.conftest import _migrated
from tests.test_upgrade_paths import _seed


async def test_old_tip_keys_lose_the_sender(db_url: str, tmp_path: Path) -> None:
    url = db_url
    if db_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        if url.startswith("postgresql"):
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            _migrated.pop("pg", None)  # the next test migrates afresh
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            seeded = await conn.run_sync(_seed)
            first, second, third = seeded["delivery"][:3]
            table = Delivery.__table__
            old = {
                first["id"]: f"tip:{first['person_id']}:abcdef012345:{second['person_id']}",
                second["id"]: f"tip:{first['person_id']}:abcdef012345:{third['person_id']}",
                third["id"]: "news:1:2",
            }
            for row_id, key in old.items():
                await conn.execute(update(table).where(table.c.id == row_id).values(key=key))

        await upgrade(engine)

        async with engine.connect() as conn:
            keys = dict((await conn.execute(select(table.c.id, table.c.key))).all())
        assert keys[first["id"]] == f"tip:abcdef012345:{second['person_id']}"
        assert keys[second["id"]] == f"tip:abcdef012345:{third['person_id']}"
        assert keys[third["id"]] == "news:1:2"
    finally:
        await engine.dispose()
