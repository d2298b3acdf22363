"""Start a uvicorn server process on a free 127.0.0.1 port, wait until it answers, and always stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    pid: int
    base_url: str
    log: Path


def fieldscore_command(port: int, workers: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "backend.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        *(["--workers", str(workers)] if workers > 1 else []),
    ]


def bare_command(port: int) -> list[str]:
    # The same uvicorn with its defaults, as `backend.cli serve` runs it (log level info, access log on).
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.bare_app:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "info",
    ]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str], log: Path, timeout_s: float = 90) -> Iterator[Server]:
    base_url = f"http://{HOST}:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} before answering:\n{_tail(log)}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer /health within {timeout_s:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield Server(pid=process.pid, base_url=base_url, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully (runs the lifespan's exit)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _process_table() -> tuple[dict[int, int], dict[int, float]]:
    """Every live process's parent and CPU seconds (user + system), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return parents, times


def _tree(pid: int, parents: dict[int, int]) -> set[int]:
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def process_tree(pid: int) -> set[int]:
    """A process and its live descendants (uvicorn's worker processes)."""
    return _tree(pid, _process_table()[0])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (uvicorn's worker processes), from /proc."""
    parents, times = _process_table()
    return sum(times.get(p, 0.0) for p in _tree(pid, parents))


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on the machine (its backends do the database's work)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle on the whole machine, summed over cores, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
