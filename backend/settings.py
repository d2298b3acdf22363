"""Settings, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from backend.accounts.security import ARGON2_MEMORY_KIB, ARGON2_TIME_COST, Passwords


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    data_dir: Path
    token_ttl_hours: float = 12.0
    pg_pool_min: int = 2
    pg_pool_max: int = 20
    # PostgreSQL: a streaming read replica for analytics reads (comparisons, shopper effects); None: the primary.
    analytics_replica_url: str | None = None
    sqlite_timeout_s: float = 30.0
    # Argon2id cost: OWASP's recommendation (why: backend.accounts.security). Tests lower it.
    argon2_time_cost: int = ARGON2_TIME_COST
    argon2_memory_kib: int = ARGON2_MEMORY_KIB
    # Password hashes computed at once per process (0: one per two CPUs), and how long a login waits for one.
    password_hash_concurrency: int = 0
    password_hash_wait_s: float = 2.0
    # The login throttle (backend.accounts.throttle): failed guesses allowed before delays start, per
    # (account, client address) and per client address; delays double from the first to the longest;
    # a key quiet for `login_forget_after_s` starts afresh.
    login_free_failures: int = 5
    login_free_failures_per_address: int = 20
    login_first_delay_s: float = 1.0
    login_max_delay_s: float = 900.0
    login_forget_after_s: float = 3600.0
    min_sample_size: int = 3
    expiry_interval_s: float = 300.0
    # The most tasks one wave's generation may plan (all its locations, slots and days together).
    max_wave_tasks: int = 50_000
    # Attachment size limits by kind (backend.attachments.sniff); the upload route's body limit is above them all.
    attachment_max_image_bytes: int = 10 * 1024 * 1024
    attachment_max_document_bytes: int = 10 * 1024 * 1024
    attachment_max_audio_bytes: int = 25 * 1024 * 1024
    attachment_max_video_bytes: int = 25 * 1024 * 1024  # a phone's short clip; longer ones are refused
    # Serving processes (load_settings) tune the cyclic garbage collector; see backend.app._tune_gc.
    tune_gc: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def passwords(self) -> Passwords:
        return Passwords(
            time_cost=self.argon2_time_cost,
            memory_kib=self.argon2_memory_kib,
            concurrency=self.password_hash_concurrency or None,
            max_wait_s=self.password_hash_wait_s,
        )

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        if not self.database_url.startswith("sqlite:///"):
            raise ValueError(f"not a sqlite URL: {self.database_url}")
        return Path(self.database_url.removeprefix("sqlite:///"))


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("FIELDSCORE_DATA_DIR", "var"))
    url = os.environ.get("FIELDSCORE_DATABASE_URL") or f"sqlite:///{data_dir / 'fieldscore.sqlite3'}"
    if not url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise SystemExit(f"FIELDSCORE_DATABASE_URL must start with sqlite:/// or postgresql:// (got {url!r})")
    replica = os.environ.get("FIELDSCORE_ANALYTICS_REPLICA_URL") or None
    if replica and not (
        url.startswith(("postgres://", "postgresql://")) and replica.startswith(("postgres://", "postgresql://"))
    ):
        raise SystemExit(
            "FIELDSCORE_ANALYTICS_REPLICA_URL is a PostgreSQL replica of a PostgreSQL FIELDSCORE_DATABASE_URL"
        )
    return Settings(
        database_url=url,
        data_dir=data_dir,
        token_ttl_hours=_number("FIELDSCORE_TOKEN_TTL_HOURS", 12.0),
        pg_pool_max=int(_number("FIELDSCORE_PG_POOL_MAX", 20)),
        analytics_replica_url=replica,
        argon2_time_cost=int(_number("FIELDSCORE_ARGON2_TIME_COST", ARGON2_TIME_COST)),
        argon2_memory_kib=int(_number("FIELDSCORE_ARGON2_MEMORY_KIB", ARGON2_MEMORY_KIB)),
        password_hash_concurrency=int(_number("FIELDSCORE_PASSWORD_HASH_CONCURRENCY", 0)),
        login_free_failures_per_address=int(_number("FIELDSCORE_LOGIN_FREE_FAILURES_PER_ADDRESS", 20)),
        min_sample_size=int(_number("FIELDSCORE_MIN_SAMPLE_SIZE", 3)),
        max_wave_tasks=int(_number("FIELDSCORE_MAX_WAVE_TASKS", 50_000)),
        tune_gc=os.environ.get("FIELDSCORE_TUNE_GC", "1") != "0",
    )
