"""Time-ordered ids (UUID version 7, RFC 9562) for rows the server creates in bulk.

A random (version 4) key puts every new row's index entry on a different B-tree page, so each
insert dirties a page of its own in every such index, and a write-ahead log carries each of those
pages. Version 7 ids start with the time, so rows created together sit together: new entries append
to the same few pages. They stay unguessable enough for row ids (62 random bits; 74 at rest within
a millisecond) and are ordinary UUIDs to every client and to both databases; ids made by phones
(report ids) stay whatever the phone made.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7"]


def uuid7(now_ns: int | None = None) -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix milliseconds, then 12 bits of sub-millisecond time (RFC 9562
    §6.2 method 3, so ids made in one process sort by time), then 62 random bits."""
    ns = time.time_ns() if now_ns is None else now_ns
    ms, rest = divmod(ns, 1_000_000)
    sub_ms = rest * 4096 // 1_000_000
    random_bits = int.from_bytes(os.urandom(8)) & 0x3FFF_FFFF_FFFF_FFFF
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | (sub_ms << 64) | (0b10 << 62) | random_bits
    return uuid.UUID(int=value)
