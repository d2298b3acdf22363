"""Means with t-intervals from aggregated sums (pure), against scipy on the raw values."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from backend.analytics.statistics import Moments, mean_interval


def moments(values: list[float]) -> Moments:
    return Moments(len(values), sum(values), sum(v * v for v in values))


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=60))
def test_the_interval_is_scipys_t_interval_on_the_raw_values(values: list[float]) -> None:
    got = mean_interval(moments(values), min_n=2, bounds=(float("-inf"), float("inf")))
    mean = statistics.fmean(values)
    sem = statistics.stdev(values) / len(values) ** 0.5
    low, high = (mean, mean) if sem == 0 else stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    assert got.enough_data and got.mean == pytest.approx(mean)
    assert (got.low, got.high) == pytest.approx((low, high), abs=1e-6)


@given(st.floats(0, 100, allow_nan=False), st.integers(2, 500))
def test_equal_values_have_an_interval_of_no_width(value: float, n: int) -> None:
    got = mean_interval(moments([value] * n), min_n=2)
    assert got.low == got.high == pytest.approx(value)


def test_too_few_values_are_not_enough_data() -> None:
    assert mean_interval(Moments(), min_n=2).enough_data is False
    assert mean_interval(moments([80.0]), min_n=1).mean is None  # one value has no interval
    assert mean_interval(moments([80.0, 90.0]), min_n=3).enough_data is False
