"""Database engines: creation from a URL, binding to the tables, write transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

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
    """SQLite with WAL, a busy timeout on every connection and write transactions that never deadlock."""

    async def get_connection(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
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
    """A write transaction: IMMEDIATE on SQLite so concurrent writers queue instead of failing."""
    current = engine()
    if isinstance(current, SQLiteEngine):
        return current.transaction(transaction_type=TransactionType.immediate)
    return current.transaction()


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


async def open_pool(current: Engine, *, min_size: int, max_size: int) -> None:
    if isinstance(current, PostgresEngine):
        await current.start_connection_pool(min_size=min(min_size, max_size), max_size=max_size)


async def close_pool(current: Engine) -> None:
    if isinstance(current, PostgresEngine):
        await current.close_connection_pool()
