"""Which engine the tables use: building one from a URL, binding it, and the write transaction.

Nothing here runs on import: an engine exists only once someone calls `create_engine` (the app,
the CLI, a test), so importing the configuration never touches a database file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.db import library_internals as internals
from backend.db.registry import APP_REGISTRY
from backend.db.sqlite import FieldscoreSQLiteEngine

ANALYTICS_NODE = "analytics"


def create_engine(url: str, *, sqlite_timeout_s: float = 30.0, analytics_replica_url: str | None = None) -> Engine[Any]:
    """`analytics_replica_url` (PostgreSQL only): a read replica that analytics reads go to (Piccolo's extra
    node "analytics", see `analytics_node`); everything else, and every write, stays on `url`."""
    if analytics_replica_url and not url.startswith(("postgres://", "postgresql://")):
        raise ValueError("an analytics replica needs a PostgreSQL primary")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:  # WAL is a property of the file: set it once.
            conn.execute("PRAGMA journal_mode = WAL")
        return FieldscoreSQLiteEngine(path=str(path), timeout=sqlite_timeout_s)
    if url.startswith(("postgres://", "postgresql://")):
        replicas = (
            {ANALYTICS_NODE: PostgresEngine(config={"dsn": analytics_replica_url})} if analytics_replica_url else {}
        )
        return PostgresEngine(config={"dsn": url}, extra_nodes=replicas)
    raise ValueError(f"unsupported database URL: {url}")


_engine: Engine[Any] | None = None


def all_tables() -> list[type[Table]]:
    return [table for config in APP_REGISTRY.app_configs.values() for table in config.table_classes]


def bind(engine: Engine[Any], tables: Iterable[type[Table]] | None = None) -> None:
    """Make every table (and `engine()`) use this engine from now on."""
    global _engine
    _engine = engine
    for table in tables if tables is not None else all_tables():
        internals.bind_table(table, engine)


def engine() -> Engine[Any]:
    if _engine is None:
        raise RuntimeError("no database engine bound; call backend.db.bind() first")
    return _engine


def writing() -> AbstractAsyncContextManager[Any]:
    """A write transaction. SQLite: a savepoint in a group-committed IMMEDIATE transaction (see
    FieldscoreSQLiteEngine); PostgreSQL: an ordinary transaction. Either way, leaving the block
    without an exception means the writes are durably committed."""
    current = engine()
    if isinstance(current, FieldscoreSQLiteEngine):
        return current.writing()
    if isinstance(current, SQLiteEngine):
        return cast(AbstractAsyncContextManager[Any], current.transaction(transaction_type=TransactionType.immediate))
    return cast(AbstractAsyncContextManager[Any], current.transaction())


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


def analytics_node() -> str | None:
    """The node analytics reads run on (`query.run(node=...)`): the replica when one is configured, else None
    (the primary)."""
    current = engine()
    if isinstance(current, PostgresEngine) and ANALYTICS_NODE in current.extra_nodes:
        return ANALYTICS_NODE
    return None


async def _keep_session(connection: Any) -> None:
    """Pool release hook. asyncpg's default resets every released connection with a round trip
    (RESET ALL, UNLISTEN *, …); this app never changes session state (only SET LOCAL and transaction-
    scoped advisory locks; no LISTEN or open cursors), so only asyncpg's own rollback of an unfinished
    transaction is kept."""


async def open_pool(current: Engine[Any], *, min_size: int, max_size: int) -> None:
    if isinstance(current, PostgresEngine):
        await current.start_connection_pool(min_size=min(min_size, max_size), max_size=max_size, reset=_keep_session)
        for node in current.extra_nodes.values():
            await node.start_connection_pool(min_size=min(min_size, max_size), max_size=max_size, reset=_keep_session)


async def close_pool(current: Engine[Any]) -> None:
    if isinstance(current, PostgresEngine):
        await current.close_connection_pool()
        for node in current.extra_nodes.values():
            await node.close_connection_pool()
    elif isinstance(current, FieldscoreSQLiteEngine):
        await current.close()
