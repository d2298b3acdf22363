"""Database engines: creation from a URL, binding to the tables, write transactions."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table


class _ClosingSQLiteTransaction(SQLiteTransaction):
    """Closes its connection when BEGIN fails; Piccolo's leaks it (and a non-daemon thread)."""

    async def begin(self) -> None:
        try:
            await super().begin()
        except BaseException:
            await self.connection.close()
            raise


class FieldscoreSQLiteEngine(SQLiteEngine):
    """SQLite with WAL, pooled reader connections and group commit for writers.

    Piccolo opens a new connection (and thread) for every query outside a transaction and
    re-sends `PRAGMA foreign_keys` before every statement; here reads borrow from a small pool
    instead. Writes go through `writing()`: write blocks run one at a time on one connection,
    each in its own savepoint of a shared IMMEDIATE transaction, which commits when no other
    writer is waiting (or the batch is full). Every block waits for that commit before it
    returns, so an acknowledged write is on disk (synchronous=FULL), while one fsync serves a
    whole batch of concurrent requests instead of one each.
    """

    max_readers = 4
    max_batch = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._reader_count = 0
        self._writer: aiosqlite.Connection | None = None
        self._write_lock: asyncio.Lock | None = None
        self._waiting = 0
        self._batch: _Batch | None = None
        self._in_block: contextvars.ContextVar[bool] = contextvars.ContextVar(f"in_block_{id(self)}", default=False)

    async def get_connection(self) -> aiosqlite.Connection:
        return await self._open(daemon=False)

    async def _open(self, *, daemon: bool) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # Pooled connections live as long as the engine; as daemon threads they never keep a
        # finished process (a CLI command, a test run) alive. Acknowledged writes are committed
        # before anyone is told, so nothing of value can be lost with such a thread.
        # (aiosqlite >= 0.20 keeps its worker thread in `_thread`; older versions were the thread.)
        getattr(connection, "_thread", connection).daemon = daemon
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        # FULL: a commit that returned is on disk, so a 2xx is never lost, even on power failure.
        await connection.execute("PRAGMA synchronous = FULL")
        return connection

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _ClosingSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    # ------------------------------------------------------------------ reads

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """Borrow a pooled reader connection."""
        if self._readers is None:
            self._readers = asyncio.Queue()
        if self._readers.empty() and self._reader_count < self.max_readers:
            self._reader_count += 1
            try:
                connection = await self._open(daemon=True)
            except BaseException:
                self._reader_count -= 1
                raise
        else:
            connection = await self._readers.get()
        try:
            yield connection
            if connection.in_transaction:  # a stray write outside writing(): never leave it open
                await connection.commit()
        finally:
            self._readers.put_nowait(connection)

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: Any = None) -> Any:
        async with self.reader() as connection:
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()

    async def _run_in_existing_connection(self, connection: Any, query: str, args: list[Any] | None = None,
                                          query_type: str = "generic", table: Any = None) -> Any:
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    # ------------------------------------------------------------------ writes

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        if self._in_block.get():  # nested: part of the enclosing block
            yield
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        self._waiting += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting -= 1
        batch: _Batch | None = None
        failed = False
        try:
            if self._batch is None:
                self._batch = await self._begin()
            batch = self._batch
            batch.blocks += 1
            savepoint = f"block_{batch.blocks}"
            await batch.connection.execute(f"SAVEPOINT {savepoint}")
            token = self.current_transaction.set(batch.transaction)
            in_block = self._in_block.set(True)
            try:
                yield
            except BaseException:
                failed = True
                await batch.connection.execute(f"ROLLBACK TO {savepoint}")
                await batch.connection.execute(f"RELEASE {savepoint}")
                raise
            else:
                await batch.connection.execute(f"RELEASE {savepoint}")
            finally:
                self.current_transaction.reset(token)
                self._in_block.reset(in_block)
        finally:
            try:
                if self._batch is not None and (self._waiting == 0 or self._batch.blocks >= self.max_batch):
                    await self._commit()
            finally:
                self._write_lock.release()
        if batch is not None and not failed:
            await asyncio.shield(batch.committed)

    async def _begin(self) -> _Batch:
        if self._writer is None:
            self._writer = await self._open(daemon=True)
        await self._writer.execute("BEGIN IMMEDIATE")
        transaction = _ClosingSQLiteTransaction(engine=self, transaction_type=TransactionType.immediate)
        transaction.connection = self._writer
        return _Batch(self._writer, transaction, asyncio.get_running_loop().create_future())

    async def _commit(self) -> None:
        batch, self._batch = self._batch, None
        assert batch is not None
        try:
            await batch.connection.execute("COMMIT")
        except BaseException as exc:
            try:
                await batch.connection.execute("ROLLBACK")
            finally:
                batch.committed.set_exception(exc)
                batch.committed.exception()  # owners that failed themselves never read it
            raise
        batch.committed.set_result(None)

    async def close(self) -> None:
        connections = [self._writer] if self._writer else []
        while self._readers is not None and not self._readers.empty():
            connections.append(self._readers.get_nowait())
        self._writer, self._readers, self._reader_count = None, None, 0
        for connection in connections:
            await connection.close()


class _Batch:
    __slots__ = ("blocks", "committed", "connection", "transaction")

    def __init__(self, connection: aiosqlite.Connection, transaction: SQLiteTransaction,
                 committed: asyncio.Future[None]) -> None:
        self.connection = connection
        self.transaction = transaction
        self.committed = committed
        self.blocks = 0


def create_engine(url: str, *, sqlite_timeout_s: float = 30.0) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:  # WAL is a property of the file: set it once.
            conn.execute("PRAGMA journal_mode = WAL")
        return FieldscoreSQLiteEngine(path=str(path), timeout=sqlite_timeout_s)
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"unsupported database URL: {url}")


_engine: Engine | None = None


def all_tables() -> list[type[Table]]:
    from backend.piccolo_conf import APP_REGISTRY

    return [table for config in APP_REGISTRY.app_configs.values() for table in config.table_classes]


def bind(engine: Engine, tables: Iterable[type[Table]] | None = None) -> None:
    """Make every table (and `engine()`) use this engine from now on."""
    global _engine
    _engine = engine
    for table in tables if tables is not None else all_tables():
        table._meta._db = engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("no database engine bound; call backend.db.bind() first")
    return _engine


def writing():
    """A write transaction. SQLite: a savepoint in a group-committed IMMEDIATE transaction (see
    FieldscoreSQLiteEngine); PostgreSQL: an ordinary transaction. Either way, leaving the block
    without an exception means the writes are durably committed."""
    current = engine()
    if isinstance(current, FieldscoreSQLiteEngine):
        return current.writing()
    if isinstance(current, SQLiteEngine):
        return current.transaction(transaction_type=TransactionType.immediate)
    return current.transaction()


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


# ---------------------------------------------------------------------- hand-written SQL

class Session:
    """Hand-written SQL for hot paths, where Piccolo's query building (about 0.5 ms a query) would
    dominate. SQL is written once with `?` placeholders; on PostgreSQL they become `$1, $2, …`.
    Values go through the same adapters Piccolo uses (UUIDs, aware datetimes in UTC); JSON is
    passed and returned as text. Rows come back as dicts.
    """

    __slots__ = ("connection", "postgres")

    def __init__(self, connection: Any, *, postgres: bool) -> None:
        self.connection = connection
        self.postgres = postgres

    def any(self, column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
        """`column IN (values)` as (SQL, args); PostgreSQL takes one array parameter."""
        values = list(values)
        if self.postgres:
            return f"{column} = ANY(?)", [values]
        return f"{column} IN ({', '.join('?' * len(values))})", values

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self.postgres:
            return [dict(r) for r in await self.connection.fetch(_numbered(sql), *args)]
        return await self.connection._execute(_sqlite_fetch, self.connection._conn, sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            await self.connection.executemany(_numbered(sql), rows)
        else:
            await self.connection._execute(_sqlite_executemany, self.connection._conn, sql, rows)


# aiosqlite runs every call on its connection's own thread; `_execute` queues a function there, so a
# statement and its fetch cost one hop instead of three (pinned: aiosqlite < 0.23 in pyproject).
def _sqlite_fetch(connection: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    return connection.execute(sql, args).fetchall()


def _sqlite_executemany(connection: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    connection.executemany(sql, rows)


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, start=1))


@asynccontextmanager
async def reading() -> AsyncIterator[Session]:
    """A Session for reads: the enclosing write transaction's connection when there is one (so it
    sees that block's writes), else a pooled reader (SQLite) or a pool connection (PostgreSQL)."""
    current = engine()
    transaction = current.current_transaction.get()
    if transaction is not None:
        yield Session(transaction.connection, postgres=isinstance(current, PostgresEngine))
    elif isinstance(current, FieldscoreSQLiteEngine):
        async with current.reader() as connection:
            yield Session(connection, postgres=False)
    elif isinstance(current, PostgresEngine):
        if current.pool is not None:
            async with current.pool.acquire() as connection:
                yield Session(connection, postgres=True)
        else:
            connection = await current.get_new_connection()
            try:
                yield Session(connection, postgres=True)
            finally:
                await connection.close()
    else:
        raise RuntimeError(f"hand-written SQL needs FieldscoreSQLiteEngine or PostgresEngine, not {current!r}")


def session() -> Session:
    """The Session of the enclosing `writing()` block."""
    current = engine()
    transaction = current.current_transaction.get()
    if transaction is None:
        raise RuntimeError("db.session() is only for use inside db.writing()")
    return Session(transaction.connection, postgres=isinstance(current, PostgresEngine))


async def open_pool(current: Engine, *, min_size: int, max_size: int) -> None:
    if isinstance(current, PostgresEngine):
        await current.start_connection_pool(min_size=min(min_size, max_size), max_size=max_size)


async def close_pool(current: Engine) -> None:
    if isinstance(current, PostgresEngine):
        await current.close_connection_pool()
    elif isinstance(current, FieldscoreSQLiteEngine):
        await current.close()
