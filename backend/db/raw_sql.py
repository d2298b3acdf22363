"""Hand-written SQL for hot paths: `reading()` outside a write, `session()` inside `writing()`."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from piccolo.engine.postgres import PostgresEngine

from backend.db import library_internals as internals
from backend.db.binding import engine
from backend.db.sqlite import FieldscoreSQLiteEngine, sqlite_fetch

T = TypeVar("T")


class Session:
    """Hand-written SQL for hot paths, where Piccolo's query building (about 0.5 ms a query) would
    dominate. SQL is written once with `?` placeholders; on PostgreSQL they become `$1, $2, …`.
    Values go through the same adapters Piccolo uses (UUIDs, aware datetimes in UTC); JSON is
    passed and returned as text. Rows come back as dicts.
    """

    __slots__ = ("connection", "engine", "inline", "postgres")

    def __init__(self, connection: Any, *, postgres: bool, inline: FieldscoreSQLiteEngine | None = None) -> None:
        self.connection = connection
        self.postgres = postgres
        self.inline = inline is not None  # a plain sqlite3 connection used on this thread
        self.engine = inline

    async def _inline(self, read: Callable[..., T], *args: Any) -> T:
        try:
            return read(self.connection, *args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        assert self.engine is not None
        connection = await self.engine.borrow()  # it may wait: do so off the event loop
        try:
            return await internals.run_on_thread(connection, read, *args)
        finally:
            await self.engine.give_back(connection)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self.postgres:
            return [dict(r) for r in await self.connection.fetch(numbered(sql), *args)]
        if self.inline:
            return await self._inline(sqlite_fetch, sql, args)
        return await internals.run_on_thread(self.connection, sqlite_fetch, sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …`."""
    parts = sql.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, start=1))


class reading:  # noqa: N801 - used like a function: `async with db.reading() as session`
    """A Session for reads: the enclosing write transaction's connection when there is one (so it
    sees that block's writes), else the inline reader (SQLite) or a pool connection (PostgreSQL).
    A class rather than an @asynccontextmanager: it runs several times per request."""

    __slots__ = ("_connection", "_engine", "_kind")

    async def __aenter__(self) -> Session:
        current = self._engine = engine()
        postgres = isinstance(current, PostgresEngine)
        transaction = current.current_transaction.get()
        if transaction is not None:
            self._kind, self._connection = "transaction", transaction.connection
        elif isinstance(current, FieldscoreSQLiteEngine):
            self._kind, self._connection = "inline", current.inline_reader()
            return Session(self._connection, postgres=False, inline=current)
        elif isinstance(current, PostgresEngine) and current.pool is not None:
            self._kind, self._connection = "pool", await current.pool.acquire()
        elif isinstance(current, PostgresEngine):
            self._kind, self._connection = "own", await current.get_new_connection()
        else:
            raise RuntimeError(f"hand-written SQL needs FieldscoreSQLiteEngine or PostgresEngine, not {current!r}")
        return Session(self._connection, postgres=postgres)

    async def __aexit__(self, *exc_info: object) -> None:
        kind, connection, current = self._kind, self._connection, self._engine
        if kind == "pool" and isinstance(current, PostgresEngine) and current.pool is not None:
            await current.pool.release(connection)
        elif kind == "own":
            await connection.close()


def session() -> Session:
    """The Session of the enclosing `writing()` block."""
    current = engine()
    transaction = current.current_transaction.get()
    if transaction is None:
        raise RuntimeError("db.session() is only for use inside db.writing()")
    return Session(transaction.connection, postgres=isinstance(current, PostgresEngine))


@dataclass(frozen=True, slots=True)
class BulkInsert:
    """A table's columns and their PostgreSQL types, for inserting many rows in one statement. Each
    domain declares its own (the rows a report's submission adds to audit, tasks, attachments are
    built by those domains: backend.audit.service.entry_row, backend.attachments.service.link_rows)."""

    name: str
    columns: tuple[tuple[str, str], ...]

    def sqlite_insert(self, rows: int) -> str:
        """One statement for `rows` rows. sqlite3 lets go of the GIL around every step of a statement
        and executemany steps once a row; one statement a table keeps the writer's thread from
        trading the GIL with the event loop row by row."""
        names = ", ".join(name for name, _ in self.columns)
        row = f"({', '.join('?' * len(self.columns))})"
        return f"INSERT INTO {self.name} ({names}) VALUES {', '.join([row] * rows)}"

    def postgres_insert(self) -> str:
        """One statement for the whole batch: a column-wise array per column, unnested into rows."""
        names = ", ".join(name for name, _ in self.columns)
        values = ", ".join(f"{name}::json" if kind == "json" else name for name, kind in self.columns)
        arrays = ", ".join(
            f"${i}::{'text' if kind == 'json' else kind}[]" for i, (_, kind) in enumerate(self.columns, start=1)
        )
        return f"INSERT INTO {self.name} ({names}) SELECT {values} FROM unnest({arrays}) AS u({names})"
