"""Storage: one job per module, everything callers need re-exported here (`from backend import db`).

- binding: building an engine from a URL, binding it to the tables, `writing()`, pools
- sqlite: the SQLite engine (group commit, the processes' writer lock, the checkpointer)
- raw_sql: hand-written SQL (`reading()`, `session()`)
- registry: every domain's tables (Piccolo's app registry)
- library_internals: the only module that touches aiosqlite's, Piccolo's and asyncpg's private parts
"""

from backend.db.binding import (
    all_tables,
    analytics_node,
    bind,
    close_pool,
    create_engine,
    engine,
    is_postgres,
    open_pool,
    writing,
)
from backend.db.raw_sql import BulkInsert, Session, reading, session
from backend.db.sqlite import FieldscoreSQLiteEngine

__all__ = [
    "BulkInsert",
    "FieldscoreSQLiteEngine",
    "Session",
    "all_tables",
    "analytics_node",
    "bind",
    "close_pool",
    "create_engine",
    "engine",
    "is_postgres",
    "open_pool",
    "reading",
    "session",
    "writing",
]
