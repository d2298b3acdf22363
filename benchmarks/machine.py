"""What the numbers were measured on: CPU, RAM, OS, Python, database versions, commit, command, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path


def _cpu() -> str:
    models, cores = [], 0
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            models.append(line.split(":", 1)[1].strip())
            cores += 1
    model = models[0] if models else platform.processor() or "unknown"
    return f"{model}, {cores or os.cpu_count()} logical cores (os.cpu_count() = {os.cpu_count()})"


def _ram() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _os() -> str:
    pretty = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
    return f"{pretty} (kernel {platform.release()})"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _commit() -> str:
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{commit} (working tree has uncommitted changes to tracked files)" if dirty else commit


def _packages() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("litestar", "msgspec", "piccolo", "uvicorn", "uvloop", "httptools", "httpx", "asyncpg", "aiosqlite"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def describe(command: str, postgres_version: str | None) -> dict[str, str]:
    return {
        "CPU": _cpu(),
        "RAM": _ram(),
        "OS": _os(),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "SQLite": f"{sqlite3.sqlite_version} (Python's sqlite3 module)",
        "PostgreSQL": postgres_version or "not measured",
        "Packages": _packages(),
        "Git commit": _commit(),
        "Command": f"`{command}`",
        "Date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
