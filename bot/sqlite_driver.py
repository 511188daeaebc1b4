"""aiosqlite with fewer trips to its thread.

aiosqlite runs every call on a connection's own thread and waits for the answer: creating a
cursor, executing, fetching and closing each cost one round trip (a queue put, a thread wake-up
and an event-loop wake-up), four per SELECT. On a busy machine each trip also waits for the
scheduler. Here a statement is executed *and* fetched in one trip, and the calls that touch
neither the file nor a lock (making a cursor, closing an exhausted one) run where they are
called. The sqlite3 connection is opened with ``check_same_thread=False`` for that; calls stay
strictly one after the other (SQLAlchemy awaits each), so nothing runs on it concurrently.

Two more savings, both invisible to the caller:

- **Savepoints wait for a write.** Inside a transaction a ``SAVEPOINT`` is only noted; it is
  executed (in the same trip) just before the first statement that is not a ``SELECT``. A
  ``RELEASE`` or ``ROLLBACK TO`` of a savepoint that was never needed costs nothing: with no
  write after it, rolling back to it or releasing it changes nothing. The conversation runtime
  takes a savepoint around every step, and most steps only read.
- **One writer at a time, in arrival order.** Every transaction starts with ``BEGIN
  IMMEDIATE`` (``bot/db.py``), which takes SQLite's write lock. Connections of one process
  used to wait for it in SQLite's busy handler, which sleeps in growing steps and serves no
  one in particular: with a few chats at once some turns waited hundreds of milliseconds.
  Here a ``BEGIN`` first takes a FIFO asyncio lock per database file (and event loop), held
  until the transaction ends, so waiting connections get the database in turn and as soon
  as it is free. After :data:`WRITER_TIMEOUT` seconds of waiting it fails as SQLite would
  ("database is locked"). Other processes still meet in the busy handler.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# How long a BEGIN waits for another connection of this process to finish (as SQLite's own
# busy timeout would); make_engine passes its timeout.
WRITER_TIMEOUT = 30.0
# Called with every statement that reaches SQLite (benchmarks count them); None: off.
executed: Callable[[str], None] | None = None

_SAVEPOINT = re.compile(
    r"(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\s+(\w+)\s*;?\s*$", re.I
)
_ENDS = ("COMMIT", "END", "ROLLBACK", "BEGIN")
# One writer lock per event loop and database file.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _writer_lock(key: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    locks = _LOCKS.get(loop)
    if locks is None:
        _LOCKS[loop] = locks = {}
    lock = locks.get(key)
    if lock is None:
        locks[key] = lock = asyncio.Lock()
    return lock


class Cursor(aiosqlite.Cursor):
    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows: list[Any] | None = None

    def _run(self, sql: str, parameters: Iterable[Any], savepoints: list[str]) -> list[Any] | None:
        for name in savepoints:  # the savepoints noted before this write, in order
            self._cursor.connection.execute(f"SAVEPOINT {name}")
        cursor = self._cursor
        cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description is not None else None

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor:
        conn: Connection = self._conn  # type: ignore[assignment]
        head = sql.lstrip()[:24].upper()
        savepoints: list[str] = []
        if head.startswith("SELECT"):
            pass
        elif head.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            if conn._savepoint(sql):
                self._rows = None
                return self  # noted, or a savepoint that was never needed
        elif head.startswith(_ENDS):
            conn._pending.clear()  # a transaction ends (or starts): nothing is pending
            if head.startswith("BEGIN"):
                await conn._take_writer()
        else:
            savepoints, conn._pending = conn._pending, []
        try:
            self._rows = await self._execute(
                self._run, sql, [] if parameters is None else parameters, savepoints
            )
        finally:
            conn._check_writer()
        if executed is not None:
            for name in savepoints:
                executed(f"SAVEPOINT {name}")
            executed(sql)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor:
        await self._conn._write_savepoints()  # type: ignore[attr-defined]
        self._rows = None
        try:
            await super().executemany(sql, parameters)
        finally:
            self._conn._check_writer()  # type: ignore[attr-defined]
        if executed is not None:
            executed(sql)
        return self

    async def executescript(self, sql_script: str) -> Cursor:
        await self._conn._write_savepoints()  # type: ignore[attr-defined]
        self._rows = None
        try:
            await super().executescript(sql_script)
        finally:
            self._conn._check_writer()  # type: ignore[attr-defined]
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
    def __init__(
        self,
        connector: Callable[[], sqlite3.Connection],
        iter_chunk_size: int,
        *,
        lock_key: str | None = None,
        writer_timeout: float = WRITER_TIMEOUT,
    ) -> None:
        super().__init__(connector, iter_chunk_size)
        # Savepoints noted but not executed yet (innermost last).
        self._pending: list[str] = []
        self._lock_key = lock_key  # None: a database of its own (":memory:"), no lock
        self._writer_timeout = writer_timeout
        self._writer: asyncio.Lock | None = None  # the lock while this connection holds it

    @contextmanager
    async def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self, self._conn.cursor())

    # --- savepoints -----------------------------------------------------------------------

    def _savepoint(self, sql: str) -> bool:
        """Note a SAVEPOINT, or drop a RELEASE / ROLLBACK TO of a noted one: True when the
        statement needs no trip to SQLite."""
        match = _SAVEPOINT.match(sql.strip())
        if match is None:
            self._pending.clear()
            return False
        verb, name = match.group(1).upper(), match.group(2)
        pending = self._pending
        if verb == "SAVEPOINT":
            if self._connection is not None and self._conn.in_transaction:
                pending.append(name)
                return True
            return False  # outside a transaction a SAVEPOINT begins one: run it now
        if name in pending:
            index = pending.index(name)
            # RELEASE ends the savepoint and those inside it; ROLLBACK TO keeps it open.
            del pending[index if verb == "RELEASE SAVEPOINT" else index + 1 :]
            return True
        pending.clear()  # every noted savepoint lies inside this executed one
        return False

    async def _write_savepoints(self) -> None:
        if self._pending:
            names, self._pending = self._pending, []
            await self._execute(lambda: [self._conn.execute(f"SAVEPOINT {name}") for name in names])
            if executed is not None:
                for name in names:
                    executed(f"SAVEPOINT {name}")

    # --- one writer at a time ---------------------------------------------------------------

    async def _take_writer(self) -> None:
        if self._lock_key is None or self._writer is not None:
            return
        lock = _writer_lock(self._lock_key)
        try:
            await asyncio.wait_for(lock.acquire(), self._writer_timeout)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._writer = lock

    def _check_writer(self) -> None:
        """Hand the lock on once this connection's transaction is over (or never began)."""
        if self._writer is not None and (
            self._connection is None or not self._connection.in_transaction
        ):
            self._writer, lock = None, self._writer
            lock.release()

    async def commit(self) -> None:
        self._pending.clear()
        try:
            await super().commit()
        finally:
            self._check_writer()

    async def rollback(self) -> None:
        self._pending.clear()
        try:
            await super().rollback()
        finally:
            self._check_writer()

    async def close(self) -> None:
        self._pending.clear()
        try:
            await super().close()
        finally:
            self._check_writer()

    def stop(self) -> asyncio.Future[Any] | None:
        self._pending.clear()
        future = super().stop()
        if self._writer is not None:
            self._writer, lock = None, self._writer
            lock.release()
        return future


def creator(database: str, **kwargs: Any) -> Callable[[], Awaitable[Connection]]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(database, check_same_thread=False, **kwargs)

    shared = database not in ("", ":memory:") and not database.startswith("file:")
    lock_key = os.path.realpath(database) if shared else None
    timeout = float(kwargs.get("timeout", WRITER_TIMEOUT))

    async def create() -> Connection:
        connection = Connection(connect, 64, lock_key=lock_key, writer_timeout=timeout)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return await connection

    return create
