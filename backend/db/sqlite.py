"""The SQLite engine: WAL, pooled readers, group commit for writers, the processes' writer lock and
the checkpointer thread (docs/operations.md, "SQLite engine", says why each exists).

Private aiosqlite and Piccolo names are used only through backend.db.library_internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from backend.db import library_internals as internals

T = TypeVar("T")


def sqlite_fetch(connection: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    """On a connection's own thread: one statement and its rows, in one hop."""
    return connection.execute(sql, args).fetchall()


class _ClosingSQLiteTransaction(SQLiteTransaction):
    """Closes its connection when BEGIN fails; Piccolo's leaks it (and a non-daemon thread)."""

    async def begin(self) -> None:
        try:
            await super().begin()  # type: ignore[no-untyped-call]  # Piccolo's is untyped
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
    inline_busy_timeout_s = 0.05
    max_batch = 256
    # Page cache per connection (KiB). SQLite's default of 2 MiB holds only the top of the report
    # table's indexes; every write then re-reads the B-tree pages it touches.
    reader_cache_kib = 16 * 1024
    writer_cache_kib = 64 * 1024
    # The writer checkpoints itself only when the WAL passes this many pages: the checkpointer
    # thread (Checkpointer) normally copies the WAL back first, off the writer's path.
    writer_autocheckpoint_pages = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._inline: sqlite3.Connection | None = None
        self._housekeeping: set[asyncio.Task[None]] = set()
        self._reader_count = 0
        self._writer: aiosqlite.Connection | None = None
        self._write_lock: asyncio.Lock | None = None
        self._waiting = 0
        self._batch: _Batch | None = None
        self._in_block: contextvars.ContextVar[bool] = contextvars.ContextVar(f"in_block_{id(self)}", default=False)
        self._file_lock = WriterFileLock(f"{self.path}.writer-lock")
        self._checkpointer: Checkpointer | None = None

    async def get_connection(self) -> aiosqlite.Connection:
        return await self._open(daemon=False)

    async def _open(self, *, daemon: bool, writer: bool = False) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # Acknowledged writes are committed before anyone is told, so nothing of value can be lost
        # with a daemon thread (see internals.set_daemon).
        internals.set_daemon(connection, daemon)
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        # FULL: a commit that returned is on disk, so a 2xx is never lost, even on power failure.
        await connection.execute("PRAGMA synchronous = FULL")
        await connection.execute(f"PRAGMA cache_size = -{self.writer_cache_kib if writer else self.reader_cache_kib}")
        if writer:
            await connection.execute(f"PRAGMA wal_autocheckpoint = {self.writer_autocheckpoint_pages}")
        return connection

    async def _writer_connection(self) -> aiosqlite.Connection:
        if self._writer is None:
            self._writer = await self._open(daemon=True, writer=True)
            self._checkpointer = Checkpointer(self.connection_kwargs)
        return self._writer

    def _settle_file_lock(self) -> None:
        """Let other processes write once this one's transaction has ended (however it ended)."""
        if not internals.in_transaction(self._writer):
            self._file_lock.release()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _ClosingSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    # ------------------------------------------------------------------ reads

    def inline_reader(self) -> sqlite3.Connection:
        """A read-only connection used on the event loop's own thread, for short indexed reads on hot
        paths. A lookup by key takes tens of microseconds, less than the hop to a connection's thread
        and back (and the GIL traffic that comes with it); in WAL mode a reader never waits for writers."""
        if self._inline is None:
            # A short busy timeout: this runs on the event loop. The rare BUSY a WAL reader can meet
            # (recovery after a crash, a checkpoint that truncates) sends the read to a pooled reader.
            connection = sqlite3.connect(
                **{**self.connection_kwargs, "check_same_thread": False, "timeout": self.inline_busy_timeout_s}
            )
            connection.row_factory = dict_factory
            connection.execute("PRAGMA query_only = 1")
            connection.execute(f"PRAGMA cache_size = -{self.reader_cache_kib}")
            self._inline = connection
        return self._inline

    async def borrow(self) -> aiosqlite.Connection:
        """A pooled reader connection; give it back with `give_back`."""
        if self._readers is None:
            self._readers = asyncio.Queue()
        if self._readers.empty() and self._reader_count < self.max_readers:
            self._reader_count += 1
            opening = asyncio.ensure_future(self._open(daemon=True))
            try:
                return await asyncio.shield(opening)
            except asyncio.CancelledError:
                # The caller went away while the connection (and its thread) was being opened: it
                # still joins the pool when ready, instead of being left open for ever.
                opening.add_done_callback(self._adopt)
                raise
            except BaseException:
                self._reader_count -= 1
                raise
        return await self._readers.get()

    def _adopt(self, opening: asyncio.Future[aiosqlite.Connection]) -> None:
        if opening.cancelled() or opening.exception() is not None:
            self._reader_count -= 1
        else:
            assert self._readers is not None
            self._readers.put_nowait(opening.result())

    async def give_back(self, connection: aiosqlite.Connection) -> None:
        try:
            if connection.in_transaction:  # a stray write outside writing(): never leave it open
                await connection.commit()
        finally:
            assert self._readers is not None
            self._readers.put_nowait(connection)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        connection = await self.borrow()
        try:
            # Statement and fetch in one call on the connection's thread: a cursor left open by a
            # cancelled caller (the client went away) would keep its read transaction, and the next
            # borrower would read that old snapshot, missing commits already acknowledged.
            return await internals.run_on_thread(connection, sqlite_fetch, query, tuple(args or ()))
        finally:
            await self.give_back(connection)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    # ------------------------------------------------------------------ writes

    async def _acquire_write_lock(self) -> asyncio.Lock:
        """Take the one writer's lock, counted as waiting meanwhile (a batch commits when nobody waits)."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        self._waiting += 1
        try:
            await self._write_lock.acquire()
        except BaseException:
            # A holder may have left its batch open for us to join (it saw us waiting); now that we
            # are gone, someone must still commit it, or its blocks would wait for ever.
            self._waiting -= 1
            if self._batch is not None and self._waiting == 0:
                self._spawn(self._commit_if_abandoned())
            raise
        self._waiting -= 1
        return self._write_lock

    async def _commit_if_abandoned(self) -> None:
        lock = await self._acquire_write_lock()
        try:
            if self._batch is not None and self._waiting == 0:
                await self._commit()
        finally:
            lock.release()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._housekeeping.add(task)
        task.add_done_callback(self._housekeeping.discard)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        if self._in_block.get():  # nested: part of the enclosing block
            yield
            return
        lock = await self._acquire_write_lock()
        batch: _Batch | None = None
        failed = False
        try:
            # Each bookkeeping statement is seen through to its end (_finish): a statement queued on
            # the writer's thread runs anyway, so a cancelled caller must not leave the batch's state
            # unknown. Any failure in the bookkeeping gives the whole batch up (_abandon).
            stage = "lock"
            try:
                if self._batch is None:
                    stage = "begin"
                    await _finish(self._begin())
                batch = self._batch
                assert batch is not None
                batch.blocks += 1
                savepoint = f"block_{batch.blocks}"
                stage = "savepoint"
                await _finish(_execute(batch.connection, f"SAVEPOINT {savepoint}"))
            except asyncio.CancelledError:  # what was started was done: take back the savepoint, go
                failed = True
                if stage == "savepoint" and batch is not None:
                    await _finish(_execute(batch.connection, f"ROLLBACK TO {savepoint}", f"RELEASE {savepoint}"))
                raise
            except BaseException as exc:
                failed = True
                await _finish(self._abandon(exc))
                raise
            token = self.current_transaction.set(batch.transaction)
            in_block = self._in_block.set(True)
            try:
                yield
            except BaseException as exc:
                failed = True
                try:
                    await _finish(_execute(batch.connection, f"ROLLBACK TO {savepoint}", f"RELEASE {savepoint}"))
                except asyncio.CancelledError:
                    raise
                except BaseException:
                    await _finish(self._abandon(exc))
                    raise
                self._drop_batch_if_lost(batch, exc)
                raise
            else:
                try:
                    await _finish(_execute(batch.connection, f"RELEASE {savepoint}"))
                except asyncio.CancelledError:  # released into the batch; its outcome is the batch's
                    failed = True
                    raise
                except BaseException as exc:
                    failed = True
                    await _finish(self._abandon(exc))
                    raise
            finally:
                self.current_transaction.reset(token)
                self._in_block.reset(in_block)
        finally:
            try:
                if self._batch is not None and (self._waiting == 0 or self._batch.blocks >= self.max_batch):
                    await _finish(self._commit())
            finally:
                lock.release()
        if batch is not None and not failed:
            await asyncio.shield(batch.committed)

    async def _begin(self) -> None:
        writer = await self._writer_connection()
        await internals.run_on_thread(writer, _begin_immediate, self._file_lock)
        self._batch = self._new_batch()

    async def _abandon(self, error: BaseException) -> None:
        """Give the open batch up: roll the transaction back and tell its blocks' owners (none of
        whom has been answered yet: answers wait for the commit)."""
        batch, self._batch = self._batch, None
        if self._writer is not None and internals.in_transaction(self._writer):
            with contextlib.suppress(Exception):  # already failing; the owners are told below
                await self._writer.execute("ROLLBACK")
        self._settle_file_lock()
        if batch is not None:
            _fail(batch, error)

    def _new_batch(self) -> _Batch:
        assert self._writer is not None
        transaction = _ClosingSQLiteTransaction(engine=self, transaction_type=TransactionType.immediate)
        transaction.connection = self._writer
        return _Batch(self._writer, transaction, asyncio.get_running_loop().create_future())

    async def run_block(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A write block in one hop to the writer's thread: `work(connection)` runs in its own savepoint
        of the shared transaction, exactly like a `writing()` block, and the transaction commits in the
        same hop when no other writer is waiting. Returns once its writes are committed."""
        if self._in_block.get():
            raise RuntimeError("run_block() cannot run inside a writing() block")
        lock = await self._acquire_write_lock()
        return await _finish(self._locked_block(lock, work))

    async def run_in_block(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Inside a `writing()` block: `work(connection)` on the writer's thread, in one hop, as part of
        the block (its savepoint), so that hand-written SQL and Piccolo queries share one transaction."""
        if not self._in_block.get() or self._writer is None:
            raise RuntimeError("run_in_block() is only for use inside a writing() block")
        return await internals.run_on_thread(self._writer, work)

    async def _locked_block(self, lock: asyncio.Lock, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            writer = await self._writer_connection()
            begin = self._batch is None
            if begin:
                self._batch = self._new_batch()
            batch = self._batch
            assert batch is not None
            batch.blocks += 1
            commit = self._waiting == 0 or batch.blocks >= self.max_batch
            try:
                result, error, commit_error = await internals.run_on_thread(
                    writer, _run_block, self._file_lock, work, begin, f"block_{batch.blocks}", commit
                )
            except BaseException as exc:  # BEGIN failed (busy), or a bookkeeping statement of the hop did
                await self._abandon(exc)
                raise
            if commit:
                self._batch = None
                if commit_error is not None:
                    _fail(batch, commit_error)
                else:
                    batch.committed.set_result(None)
                    self._nudge_checkpointer()
            elif error is not None:
                self._drop_batch_if_lost(batch, error)
            if self._batch is batch and self._waiting == 0:
                await self._commit()  # whoever we left it open for has gone
        finally:
            lock.release()
        if error is not None:
            raise error
        await batch.committed
        return cast(T, result)  # the work's own result (None only when it returned None)

    def _drop_batch_if_lost(self, batch: _Batch, error: BaseException) -> None:
        """After a failed block: if SQLite rolled the whole transaction back itself (disk full, I/O
        error), the batch is gone; its owners are told, and the next writer begins a new one."""
        if self._batch is batch and not internals.in_transaction(batch.connection):
            self._batch = None
            self._settle_file_lock()
            _fail(batch, error)

    async def _commit(self) -> None:
        batch, self._batch = self._batch, None
        assert batch is not None
        try:
            await batch.connection.execute("COMMIT")
        except BaseException as exc:
            try:
                if internals.in_transaction(batch.connection):
                    await batch.connection.execute("ROLLBACK")
            finally:
                self._settle_file_lock()
                _fail(batch, exc)
            raise
        self._settle_file_lock()
        batch.committed.set_result(None)
        self._nudge_checkpointer()

    def _nudge_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.nudge()

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        connections = [self._writer] if self._writer else []
        while self._readers is not None and not self._readers.empty():
            connections.append(self._readers.get_nowait())
        self._writer, self._readers, self._reader_count = None, None, 0
        try:
            for connection in connections:
                await connection.close()
        finally:
            self._file_lock.close()


async def _finish(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await `coroutine` to its end even if the caller is cancelled meanwhile: statements queued on a
    connection's thread run anyway, so what they leave behind must be known before anyone goes on.
    Raises the coroutine's own error if it failed; else, if the caller was cancelled, CancelledError
    (so CancelledError from here means the work was done).

    Not anyio's `CancelScope(shield=True)`: it shields only from anyio's own cancel scopes, and a
    plain asyncio `Task.cancel()` (a server dropping a request, `asyncio.wait_for`) still interrupts
    the awaited statement half-way; tests/engine/test_group_commit.py cancels that way."""
    task = asyncio.ensure_future(coroutine)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            cancelled = True
    if cancelled and not task.cancelled() and task.exception() is None:
        raise asyncio.CancelledError  # done as asked; now the caller's cancellation
    return task.result()  # its result, or its own error


async def _execute(connection: aiosqlite.Connection, *statements: str) -> None:
    for statement in statements:
        await connection.execute(statement)


def _fail(batch: _Batch, error: BaseException) -> None:
    """Tell every owner of the batch's blocks that it was not committed."""
    if not batch.committed.done():
        if isinstance(error, asyncio.CancelledError):  # not the owners' own cancellation
            error = ConnectionAbortedError("the write transaction was interrupted")
        batch.committed.set_exception(error)
        batch.committed.exception()  # owners that failed themselves never read it


def _begin_immediate(connection: sqlite3.Connection, file_lock: WriterFileLock) -> None:
    """On the writer's thread: take the processes' write turn, then SQLite's write lock."""
    file_lock.acquire()
    try:
        connection.execute("BEGIN IMMEDIATE")
    except BaseException:
        file_lock.release()
        raise


def _run_block(
    connection: sqlite3.Connection,
    file_lock: WriterFileLock,
    work: Callable[[sqlite3.Connection], T],
    begin: bool,
    savepoint: str,
    commit: bool,
) -> tuple[T | None, Exception | None, Exception | None]:
    """On the writer's thread: (work's result, work's error, the commit's error). A block alone in its
    batch (begun and committed in this one hop) needs no savepoint: its transaction does the same, with
    two statements fewer while the processes' write turn is held."""
    alone = begin and commit
    if begin:
        _begin_immediate(connection, file_lock)
    result, error, commit_error = None, None, None
    try:
        if not alone:
            connection.execute(f"SAVEPOINT {savepoint}")
        try:
            result = work(connection)
        except Exception as exc:
            error = exc
            if not alone:
                connection.execute(f"ROLLBACK TO {savepoint}")
            elif connection.in_transaction:
                connection.execute("ROLLBACK")
        if not alone:
            connection.execute(f"RELEASE {savepoint}")
        if commit and not (alone and error is not None):
            try:
                connection.execute("COMMIT")
            except Exception as exc:
                commit_error = exc
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
        return result, error, commit_error
    finally:
        if not connection.in_transaction:
            file_lock.release()  # at once, on this thread: another process may be waiting for it


class WriterFileLock:
    """Whose turn it is to write, across the server processes that share one SQLite file.

    SQLite's own lock makes a second writer poll (its busy handler sleeps 1, 2, 5 … 100 ms between
    tries), which gave hundreds of milliseconds of tail latency with two server processes. An
    exclusive flock on a file beside the database hands the turn over the moment it is released.
    It is taken on the writer's thread just before BEGIN and given back when the transaction ends.
    Processes that do not take it (a CLI command, the sqlite3 shell) still meet SQLite's own lock.
    (A separate file: opening and closing the database file itself would drop SQLite's POSIX locks.)
    The `filelock` package was considered: its acquire polls a non-blocking lock (every 50 ms by
    default), which is exactly the hand-over delay this lock exists to remove; a blocking flock wakes
    the next writer at once.
    """

    __slots__ = ("_fd", "_held", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None
        self._held = False

    def acquire(self) -> None:
        if self._held:
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # lets go of the GIL while it waits
        self._held = True

    def release(self) -> None:
        if self._held and self._fd is not None:
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Checkpointer:
    """Copies the WAL back into the database file on a thread of its own, after commits.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, so every
    thousand pages one writer (and every request waiting for its batch) stalled for a whole copy and
    fsync of the database file. A PASSIVE checkpoint takes no write lock: writers go on meanwhile.
    It runs at most every `interval_s`; when nothing is committed it sleeps.
    """

    interval_s = 0.2

    def __init__(self, connection_kwargs: dict[str, Any]) -> None:
        self._kwargs = {**connection_kwargs, "check_same_thread": False}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _run(self) -> None:
        connection = sqlite3.connect(**self._kwargs)
        try:
            connection.execute("PRAGMA synchronous = FULL")  # the database file is fsynced before the WAL is reused
            while True:
                self._wake.wait()
                if self._stopping.is_set():
                    return
                self._wake.clear()
                with contextlib.suppress(sqlite3.Error):  # busy or locked: the next commit nudges again
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if self._stopping.wait(self.interval_s):
                    return
        finally:
            connection.close()


class _Batch:
    __slots__ = ("blocks", "committed", "connection", "transaction")

    def __init__(
        self, connection: aiosqlite.Connection, transaction: SQLiteTransaction, committed: asyncio.Future[None]
    ) -> None:
        self.connection = connection
        self.transaction = transaction
        self.committed = committed
        self.blocks = 0
