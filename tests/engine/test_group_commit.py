"""The SQLite writer's group commit under cancellation: whatever callers give up, every block that
returned is on disk, nothing waits for ever, and later writes still work."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from backend import db
from backend.db import raw_sql


def _engine(tmp_path: Path) -> db.FieldscoreSQLiteEngine:
    path = tmp_path / "group.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE item (n INTEGER PRIMARY KEY)")
    engine = db.create_engine(f"sqlite:///{path}")
    assert isinstance(engine, db.FieldscoreSQLiteEngine)
    return engine


def _stored(tmp_path: Path) -> set[int]:
    with sqlite3.connect(tmp_path / "group.sqlite3") as conn:
        return {n for (n,) in conn.execute("SELECT n FROM item")}


def _insert(n: int):
    def work(connection: sqlite3.Connection) -> int:
        connection.execute("INSERT INTO item (n) VALUES (?)", (n,))
        return n

    return work


@pytest.mark.parametrize("seed", range(6))
async def test_cancelled_writers_lose_nothing_acknowledged_and_block_nobody(tmp_path, seed):
    rng = random.Random(seed)
    engine = _engine(tmp_path)
    acknowledged: set[int] = set()

    async def via_run_block(n: int) -> None:
        await asyncio.sleep(rng.random() / 1000)
        assert await engine.run_block(_insert(n)) == n
        acknowledged.add(n)

    async def via_writing(n: int) -> None:
        await asyncio.sleep(rng.random() / 1000)
        async with engine.writing():
            await engine.current_transaction.get().connection.execute("INSERT INTO item (n) VALUES (?)", (n,))
            await asyncio.sleep(rng.random() / 1000)
        acknowledged.add(n)

    try:
        for round_ in range(5):
            writers = [
                asyncio.create_task((via_run_block if rng.random() < 0.6 else via_writing)(round_ * 100 + i))
                for i in range(40)
            ]
            await asyncio.sleep(rng.random() / 500)
            for task in rng.sample(writers, 15):
                task.cancel()
            done, pending = await asyncio.wait(writers, timeout=20)
            assert not pending, "a writer waits for ever"
            failed = [task.exception() for task in done if not task.cancelled() and task.exception()]
            assert not failed, f"writers that were not cancelled failed: {failed[:3]}"
            # Later writes work, in both forms, and commit.
            assert await asyncio.wait_for(engine.run_block(_insert(10_000 + round_)), 20) == 10_000 + round_
            async with engine.writing():
                await engine.current_transaction.get().connection.execute(
                    "INSERT INTO item (n) VALUES (?)", (20_000 + round_,)
                )
            acknowledged |= {10_000 + round_, 20_000 + round_}
            assert acknowledged <= _stored(tmp_path)
    finally:
        await engine.close()


async def test_a_failing_block_leaves_the_others_of_its_batch_committed(tmp_path):
    engine = _engine(tmp_path)

    def duplicate(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO item (n) VALUES (1)")

    try:
        results = await asyncio.gather(
            *(engine.run_block(_insert(n)) for n in range(1, 6)), engine.run_block(duplicate), return_exceptions=True
        )
        assert results[:5] == [1, 2, 3, 4, 5]
        assert isinstance(results[5], sqlite3.IntegrityError)
        assert _stored(tmp_path) == {1, 2, 3, 4, 5}
    finally:
        await engine.close()


async def test_a_busy_inline_read_is_handed_to_a_pooled_reader(tmp_path, monkeypatch):
    """The inline reader runs on the event loop: on BUSY it must not wait there, but read elsewhere."""
    engine = _engine(tmp_path)
    monkeypatch.setattr("backend.db.binding._engine", engine)  # bound for this test only
    original, seen = raw_sql.sqlite_fetch, []

    def busy_inline(connection, sql, args):
        seen.append("inline" if connection is engine._inline else "pooled")
        if connection is engine._inline:
            raise sqlite3.OperationalError("database is locked")
        return original(connection, sql, args)

    monkeypatch.setattr(raw_sql, "sqlite_fetch", busy_inline)
    try:
        await engine.run_block(_insert(7))
        async with db.reading() as session:
            assert await session.fetch("SELECT n FROM item") == [{"n": 7}]
        assert seen == ["inline", "pooled"]
    finally:
        await engine.close()


async def test_engines_on_one_file_take_turns_to_write(tmp_path):
    """Server processes sharing one SQLite file: a writer waits for the other's transaction to end
    (commit or rollback), then writes; nothing is lost or left locked. Two engines in one process hold
    separate flock descriptions, exactly as two processes would."""
    first = _engine(tmp_path)
    second = db.create_engine(f"sqlite:///{tmp_path / 'group.sqlite3'}")
    assert isinstance(second, db.FieldscoreSQLiteEngine)
    inside, leave = asyncio.Event(), asyncio.Event()

    async def hold_open(n: int, fail: bool) -> None:
        async with first.writing():
            await first.current_transaction.get().connection.execute("INSERT INTO item (n) VALUES (?)", (n,))
            inside.set()
            await leave.wait()
            if fail:
                raise RuntimeError("block given up")

    try:
        for n, fail in ((1, False), (3, True), (5, False)):
            inside.clear()
            leave.clear()
            holder = asyncio.create_task(hold_open(n, fail))
            await inside.wait()
            waiter = asyncio.create_task(second.run_block(_insert(n + 1)))
            await asyncio.sleep(0.2)
            assert not waiter.done(), "the second writer did not wait for the first one's transaction"
            assert first._file_lock._held and not second._file_lock._held  # waiting for the turn, not polling SQLite
            leave.set()
            if fail:
                with pytest.raises(RuntimeError):
                    await holder
            else:
                await holder
            assert await asyncio.wait_for(waiter, 20) == n + 1
            assert not first._file_lock._held and not second._file_lock._held
        assert _stored(tmp_path) == {1, 2, 4, 5, 6}
        # Either may write next, at once.
        assert await asyncio.wait_for(first.run_block(_insert(7)), 20) == 7
        assert await asyncio.wait_for(second.run_block(_insert(8)), 20) == 8
    finally:
        await first.close()
        await second.close()


async def test_the_checkpointer_copies_committed_pages_back_to_the_database_file(tmp_path):
    """The writer's own checkpoint waits for 10,000 pages; a small write reaches the database file
    (out of the WAL) only through the checkpointer thread."""
    engine = _engine(tmp_path)
    path = tmp_path / "group.sqlite3"
    before = path.stat().st_size

    def big(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE blob (b BLOB)")
        connection.execute("INSERT INTO blob (b) VALUES (?)", (b"x" * 1_000_000,))

    try:
        await engine.run_block(big)
        for _ in range(200):
            if path.stat().st_size >= before + 1_000_000:
                break
            await asyncio.sleep(0.05)
        assert path.stat().st_size >= before + 1_000_000
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT length(b) FROM blob").fetchone() == (1_000_000,)
    finally:
        await engine.close()
    assert engine._checkpointer is None


async def test_a_block_alone_in_its_batch_fails_or_commits_as_a_whole(tmp_path):
    """With nobody waiting, a block is its batch's only one and runs as a plain transaction: its error
    (in its work or at COMMIT) reaches its owner, nothing of it stays, and the write turn is given back."""
    path = tmp_path / "group.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent (id))")
    engine = _engine(tmp_path)

    def fails_in_work(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO item (n) VALUES (1)")
        raise ValueError("not this one")

    def fails_at_commit(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO item (n) VALUES (2)")
        connection.execute("PRAGMA defer_foreign_keys = ON")  # the dangling reference is found at COMMIT
        connection.execute("INSERT INTO child (p) VALUES (99)")

    try:
        with pytest.raises(ValueError, match="not this one"):
            await engine.run_block(fails_in_work)
        assert not engine._file_lock._held
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await engine.run_block(fails_at_commit)
        assert not engine._file_lock._held and not engine._writer._conn.in_transaction
        assert await engine.run_block(_insert(3)) == 3
        assert _stored(tmp_path) == {3}
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM child").fetchone() == (0,)
    finally:
        await engine.close()


@pytest.mark.parametrize("seed", range(3))
async def test_a_cancelled_pooled_read_leaves_no_old_snapshot_behind(tmp_path, seed):
    """A read whose caller went away must not strand its cursor (and read transaction) on the pooled
    connection: the next borrower would not see commits that were already acknowledged."""
    path = tmp_path / "stale.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE item (n INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO item (n) VALUES (1)")
    engine = db.create_engine(f"sqlite:///{path}")
    assert isinstance(engine, db.FieldscoreSQLiteEngine)
    rng = random.Random(seed)
    try:
        for n in range(2, 12):
            reads = [asyncio.create_task(engine._run_in_new_connection("SELECT n FROM item")) for _ in range(8)]
            await asyncio.sleep(0)  # queued on the readers' threads
            for read in reads:
                if rng.random() < 0.5:
                    read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            await engine.run_block(lambda c, n=n: c.execute("INSERT INTO item (n) VALUES (?)", (n,)))
            # Every pooled reader, each borrowed in turn, sees the commit.
            for _ in range(engine.max_readers):
                rows = await asyncio.gather(
                    *(engine._run_in_new_connection("SELECT max(n) AS n FROM item") for _ in range(engine.max_readers))
                )
                assert [r[0]["n"] for r in rows] == [n] * engine.max_readers
    finally:
        await engine.close()


async def test_a_reader_opened_for_a_caller_who_went_away_joins_the_pool(tmp_path):
    engine = _engine(tmp_path)
    try:
        borrowing = asyncio.create_task(engine.borrow())
        await asyncio.sleep(0)  # opening: its thread has started
        borrowing.cancel()
        await asyncio.gather(borrowing, return_exceptions=True)
        for _ in range(200):  # the opening finishes on its own
            if engine._readers is not None and engine._readers.qsize() == 1:
                break
            await asyncio.sleep(0.01)
        assert (engine._reader_count, engine._readers.qsize()) == (1, 1), "kept, not leaked"
        connection = await engine.borrow()  # and it is the one lent next
        assert engine._reader_count == 1
        await engine.give_back(connection)
    finally:
        await engine.close()
