"""aiosqlite with fewer trips to its thread.

aiosqlite runs every call on a connection's own thread and waits for the answer: creating a
cursor, executing, fetching and closing each cost one round trip (a queue put, a thread wake-up
and an event-loop wake-up), four per SELECT. On a busy machine each trip also waits for the
scheduler. Here a statement is executed *and* fetched in one trip, and the calls that touch
neither the file nor a lock (making a cursor, closing an exhausted one) run where they are
called. The sqlite3 connection is opened with ``check_same_thread=False`` for that; calls stay
strictly one after the other (SQLAlchemy awaits each), so nothing runs on it concurrently.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager


class Cursor(aiosqlite.Cursor):
    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows: list[Any] | None = None

    def _run(self, sql: str, parameters: Iterable[Any]) -> list[Any] | None:
        cursor = self._cursor
        cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description is not None else None

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor:
        self._rows = await self._execute(self._run, sql, [] if parameters is None else parameters)
        return self

    def _take(self, size: int | None) -> list[Any]:
        rows = self._rows or []
        if size is None or size >= len(rows):
            self._rows = []
            return rows
        self._rows = rows[size:]
        return rows[:size]

    async def fetchall(self) -> Iterable[Any]:
        if self._rows is not None:
            return self._take(None)
        return await super().fetchall()

    async def fetchmany(self, size: int | None = None) -> Iterable[Any]:
        if self._rows is not None:
            return self._take(size or self._cursor.arraysize)
        return await super().fetchmany(size)

    async def fetchone(self) -> Any:
        if self._rows is not None:
            rows = self._take(1)
            return rows[0] if rows else None
        return await super().fetchone()

    async def close(self) -> None:
        self._rows = None
        self._cursor.close()


class Connection(aiosqlite.Connection):
    @contextmanager
    async def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self, self._conn.cursor())


def creator(database: str, **kwargs: Any) -> Callable[[], Awaitable[Connection]]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(database, check_same_thread=False, **kwargs)

    async def create() -> Connection:
        connection = Connection(connect, 64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return await connection

    return create
