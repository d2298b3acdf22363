"""Every use of aiosqlite's, Piccolo's and asyncpg's private or undocumented parts, in one place.

The storage layer goes below what these libraries document in a few places, each for a measured
reason (docs/operations.md, "SQLite engine"). Nothing else in the project touches these names:
when an upgrade moves one of them, `check()` says which, and tests/engine/test_library_internals.py
runs it, so the upgrade fails loudly there instead of quietly somewhere in a request.
The versions these were written against are pinned in pyproject.toml (aiosqlite < 0.23, piccolo < 2).
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar, cast

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

T = TypeVar("T")


# ---------------------------------------------------------------------- aiosqlite


def raw_connection(connection: aiosqlite.Connection) -> sqlite3.Connection:
    """The sqlite3 connection inside an aiosqlite one (read its `in_transaction`, nothing else from
    the event loop's thread: every statement runs on the connection's own thread)."""
    return connection._conn


def is_open(connection: aiosqlite.Connection) -> bool:
    return connection._connection is not None


def in_transaction(connection: aiosqlite.Connection | None) -> bool:
    """Whether an open aiosqlite connection is inside a transaction (False when closed or None)."""
    return connection is not None and connection._connection is not None and connection._conn.in_transaction


async def run_on_thread(connection: aiosqlite.Connection, work: Callable[..., T], *args: Any) -> T:
    """Run `work(sqlite3_connection, *args)` on the aiosqlite connection's own thread, in one hop.

    aiosqlite runs every call on its connection's thread; its private `_execute` queues any function
    there, so a statement and its fetch (or a whole write block) cost one hop instead of three.
    """
    # aiosqlite does not type _execute; it returns what `work` returns.
    return cast(T, await connection._execute(work, connection._conn, *args))  # type: ignore[no-untyped-call]


def set_daemon(connection: aiosqlite.Connection, daemon: bool) -> None:
    """Mark an aiosqlite connection's worker thread (not yet started) as daemon or not.

    Pooled connections live as long as the engine; as daemon threads they never keep a finished
    process (a CLI command, a test run) alive. aiosqlite >= 0.20 keeps its thread in `_thread`."""
    connection._thread.daemon = daemon


# ---------------------------------------------------------------------- Piccolo


def bind_table(table: type[Table], engine: Engine[Any]) -> None:
    """Make a table use `engine` instead of the one Piccolo would find through piccolo_conf."""
    table._meta._db = engine


# FieldscoreSQLiteEngine overrides these two private hooks of Piccolo's SQLiteEngine (every query
# Piccolo runs outside a transaction, and inside one, goes through them), with these signatures.
SQLITE_ENGINE_HOOKS = ("_run_in_new_connection", "_run_in_existing_connection")


# ---------------------------------------------------------------------- the check


def check() -> list[str]:
    """What of the above no longer holds for the installed libraries (empty when all is well)."""
    problems: list[str] = []
    for name in ("_execute", "_conn", "_connection", "_thread"):
        if name not in _aiosqlite_connection_names():
            problems.append(f"aiosqlite.Connection has no {name}")
    if "_execute" in _aiosqlite_connection_names():
        params = list(inspect.signature(aiosqlite.Connection._execute).parameters)
        if params[:2] != ["self", "fn"]:
            problems.append(f"aiosqlite.Connection._execute takes {params}, not (self, fn, *args)")
    for hook in SQLITE_ENGINE_HOOKS:
        method = getattr(SQLiteEngine, hook, None)
        if method is None:
            problems.append(f"piccolo SQLiteEngine has no {hook}")
            continue
        params = list(inspect.signature(method).parameters)
        expected = (
            ["self", "query", "args", "query_type", "table"]
            if hook == "_run_in_new_connection"
            else ["self", "connection", "query", "args", "query_type", "table"]
        )
        if params != expected:
            problems.append(f"piccolo SQLiteEngine.{hook} takes {params}, not {expected}")
    if "_db" not in getattr(Table._meta, "__dataclass_fields__", {}) and not hasattr(Table._meta, "_db"):
        problems.append("piccolo TableMeta has no _db")
    if "current_transaction" not in SQLiteEngine.__init__.__code__.co_names:
        problems.append("piccolo SQLiteEngine no longer sets current_transaction")
    import asyncpg

    if "reset" not in inspect.signature(asyncpg.create_pool).parameters:
        problems.append("asyncpg.create_pool takes no reset= hook")
    return problems


def _aiosqlite_connection_names() -> set[str]:
    names = set(dir(aiosqlite.Connection))
    # Instance attributes set in __init__ are not on the class: read them from the constructor's code.
    names.update(aiosqlite.Connection.__init__.__code__.co_names)
    return names
