"""What one benchmark run measures and how (parsed by benchmarks.run, printed by benchmarks.report)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    kinds: tuple[str, ...]
    clients: int
    client_processes: int
    shoppers: int
    reps: int
    warmup_s: float
    duration_s: float
    probe_s: float
    raw_warmup_s: float
    raw_duration_s: float
    pg_raw_connections: int
    client: str
    server_workers: dict[str, int]
    httpx_check_s: float
    quick: bool
    only: str | None = None  # "ingestion" or "login" (the login flood, issue 13); None: both
    logins: int = 200  # concurrent logins in the login flood
