"""The SQLite writer's group commit under cancellation: whatever callers give up, every block that
returned is on disk, nothing waits for ever, and later writes still work."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from backend import db


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
            writers = [asyncio.create_task((via_run_block if rng.random() < 0.6 else via_writing)(round_ * 100 + i))
                       for i in range(40)]
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
                    "INSERT INTO item (n) VALUES (?)", (20_000 + round_,))
            acknowledged |= {10_000 + round_, 20_000 + round_}
            assert acknowledged <= _stored(tmp_path)
    finally:
        await engine.close()


async def test_a_failing_block_leaves_the_others_of_its_batch_committed(tmp_path):
    engine = _engine(tmp_path)

    def duplicate(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO item (n) VALUES (1)")

    try:
        results = await asyncio.gather(*(engine.run_block(_insert(n)) for n in range(1, 6)),
                                       engine.run_block(duplicate), return_exceptions=True)
        assert results[:5] == [1, 2, 3, 4, 5]
        assert isinstance(results[5], sqlite3.IntegrityError)
        assert _stored(tmp_path) == {1, 2, 3, 4, 5}
    finally:
        await engine.close()


async def test_a_busy_inline_read_is_handed_to_a_pooled_reader(tmp_path, monkeypatch):
    """The inline reader runs on the event loop: on BUSY it must not wait there, but read elsewhere."""
    engine = _engine(tmp_path)
    previous = db._engine
    db.bind(engine, tables=[])
    original, seen = db._sqlite_fetch, []

    def busy_inline(connection, sql, args):
        seen.append("inline" if connection is engine._inline else "pooled")
        if connection is engine._inline:
            raise sqlite3.OperationalError("database is locked")
        return original(connection, sql, args)

    monkeypatch.setattr(db, "_sqlite_fetch", busy_inline)
    try:
        await engine.run_block(_insert(7))
        async with db.reading() as session:
            assert await session.fetch("SELECT n FROM item") == [{"n": 7}]
        assert seen == ["inline", "pooled"]
    finally:
        db._engine = previous
        await engine.close()
