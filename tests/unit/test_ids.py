"""Time-ordered ids: valid version 7 UUIDs that sort by the time they were made."""

from __future__ import annotations

import uuid

from hypothesis import assume, given
from hypothesis import strategies as st

from backend.ids import uuid7

NS = st.integers(min_value=0, max_value=(2**48 - 1) * 1_000_000)


@given(NS)
def test_is_a_version_7_rfc_uuid_carrying_its_millisecond(now_ns):
    value = uuid7(now_ns)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == now_ns // 1_000_000
    assert uuid.UUID(str(value)) == value


@given(NS, NS)
def test_ids_made_at_different_times_sort_by_time_as_values_and_as_text(a_ns, b_ns):
    # Sub-millisecond precision is 1/4096 ms (about 244 ns): times closer than that may tie.
    assume(abs(a_ns - b_ns) >= 1_000)
    early, late = sorted((a_ns, b_ns))
    assert uuid7(early) < uuid7(late)
    assert str(uuid7(early)) < str(uuid7(late))  # the text form stored on SQLite sorts the same way


def test_ids_are_unique_and_made_now_sort_after_earlier_ones():
    made = [uuid7() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert uuid7() > made[0]
