"""The private library parts backend.db relies on still exist and still behave as it assumes.

An aiosqlite, Piccolo or asyncpg upgrade that moves one of them fails here, by name, instead of
somewhere inside a request."""

from __future__ import annotations

import sqlite3
import threading

import aiosqlite

from backend.accounts.tables import User
from backend.db import library_internals as internals


def test_every_private_name_relied_on_is_still_there():
    assert internals.check() == []


async def test_a_function_runs_on_the_connections_own_thread_in_one_hop(tmp_path):
    connection = aiosqlite.connect(tmp_path / "x.sqlite3")
    internals.set_daemon(connection, True)
    await connection
    try:
        assert internals.is_open(connection)
        assert isinstance(internals.raw_connection(connection), sqlite3.Connection)

        def work(raw: sqlite3.Connection, value: int) -> tuple[int, str]:
            raw.execute("BEGIN")
            return raw.execute("SELECT ?", (value,)).fetchone()[0], threading.current_thread().name

        value, thread = await internals.run_on_thread(connection, work, 7)
        assert value == 7 and thread != threading.current_thread().name
        assert internals.in_transaction(connection)
        assert connection._thread.daemon  # what set_daemon promised
    finally:
        await connection.close()
    assert not internals.is_open(connection) and not internals.in_transaction(connection)
    assert not internals.in_transaction(None)


def test_a_table_bound_to_an_engine_uses_it(tmp_path):
    from backend.db import create_engine

    previous = User._meta._db
    engine = create_engine(f"sqlite:///{tmp_path / 'bound.sqlite3'}")
    try:
        internals.bind_table(User, engine)
        assert User._meta.db is engine
    finally:
        User._meta._db = previous
