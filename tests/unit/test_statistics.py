"""Means with t-intervals from aggregated sums (pure), against scipy on the raw values."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
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
    # From sums, the variance is exact to about 1e-12·mean² (cancellation, and the cut-off that makes equal
    # values exactly flat); when the values are nearly equal the square root turns that into up to
    # t·sqrt(2e-12·mean²) on each bound.
    tolerance = 1e-6 + float(stats.t.ppf(0.975, len(values) - 1)) * (2e-12 * mean * mean) ** 0.5
    assert (got.low, got.high) == pytest.approx((low, high), abs=tolerance)


@given(st.floats(0, 100, allow_nan=False), st.integers(2, 500))
def test_equal_values_have_an_interval_of_no_width(value: float, n: int) -> None:
    got = mean_interval(moments([value] * n), min_n=2)
    assert got.low == got.high == pytest.approx(value)


def test_too_few_values_are_not_enough_data() -> None:
    assert mean_interval(Moments(), min_n=2).enough_data is False
    assert mean_interval(moments([80.0]), min_n=1).mean is None  # one value has no interval
    assert mean_interval(moments([80.0, 90.0]), min_n=3).enough_data is False


# --- Proportions, NPS, Kaplan–Meier, tiers, differences ---------------------------------------------

import math  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from statsmodels.duration.survfunc import SurvfuncRight  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.weightstats import CompareMeans  # noqa: E402

from backend.analytics.statistics import (  # noqa: E402
    Counts,
    NpsCounts,
    holm_reject,
    kaplan_meier,
    mean_difference,
    mean_tiers,
    nps_and_variance,
    nps_interval,
    nps_pvalues,
    proportion_difference,
    proportion_pvalues,
    survival_curve,
    tiers,
    welch_pvalues,
    wilson,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"), [(18, 20, 0.698966, 0.972134), (0, 30, 0.0, 0.113513), (30, 30, 0.886487, 1.0)]
)
def test_wilson_equals_r_binom_confint(successes: int, n: int, low: float, high: float) -> None:
    got = wilson(Counts(n, successes), min_n=1)
    assert got.mean == successes / n
    assert (got.low, got.high) == pytest.approx((low, high), abs=5e-7)


def test_nps_reference_value_and_variance() -> None:
    counts = NpsCounts.of([0, 7, 7, 9, 9, 9])
    nps, variance = nps_and_variance(counts)
    assert nps == pytest.approx(1 / 3) and variance == pytest.approx(5 / 9)
    got = nps_interval(counts, min_n=2)
    half = 100 * 1.959963984540054 * math.sqrt(5 / 9 / 6)
    assert got.mean == pytest.approx(100 / 3)
    assert (got.low, got.high) == pytest.approx((100 / 3 - half, min(100.0, 100 / 3 + half)))


@given(st.lists(st.integers(0, 10), min_size=2, max_size=80))
def test_nps_variance_is_the_variance_of_the_scored_answers(marks: list[int]) -> None:
    scored = [1 if m >= 9 else -1 if m <= 6 else 0 for m in marks]
    nps, variance = nps_and_variance(NpsCounts.of(marks))
    assert nps == pytest.approx(statistics.fmean(scored))
    assert variance == pytest.approx(statistics.pvariance(scored), abs=1e-12)


def _reference(times: list[float], events: list[bool]) -> tuple[float | None, float | None, float | None]:
    fit = SurvfuncRight(np.array(times, dtype=float), np.array(events, dtype=float))
    median = float(fit.quantile(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = fit.quantile_ci(0.5)
    median_or_none = None if math.isnan(median) else median
    if math.isnan(low):
        return median_or_none, median_or_none, median_or_none
    return median_or_none, float(low), None if math.isinf(high) else float(high)


@given(
    st.lists(st.tuples(st.integers(1, 12), st.booleans()), min_size=1, max_size=60).filter(
        lambda rows: any(e for _, e in rows)
    )
)
def test_kaplan_meier_from_counted_pairs_equals_statsmodels_on_the_raw_rows(rows: list[tuple[int, bool]]) -> None:
    """Ties and censoring: SQL hands (time, censored, count); the figures equal statsmodels' on each row."""
    pairs: dict[tuple[int, bool], int] = {}
    for pair in rows:
        pairs[pair] = pairs.get(pair, 0) + 1
    got = kaplan_meier([t for t, _ in pairs], [e for _, e in pairs], list(pairs.values()), min_n=1)
    median, low, high = _reference([t for t, _ in rows], [e for _, e in rows])
    assert got.n == len(rows) and got.events == sum(e for _, e in rows)
    assert (got.median, got.ci_low, got.ci_high) == (median, low, high)


def test_kaplan_meier_respects_censoring_and_says_not_reached() -> None:
    # Half the calls never answered (censored at 300 s): the median is not reached, not 300 and not dropped.
    got = kaplan_meier([10, 20, 300], [True, True, False], [2, 2, 5], min_n=3)
    assert got.enough_data and got.median is None and got.ci_high is None and got.q25 == 20
    dropped = kaplan_meier([10, 20], [True, True], [2, 2], min_n=3)
    assert dropped.median == 15 or dropped.median in (10, 20)
    assert kaplan_meier([10], [True], [2], min_n=3).enough_data is False
    nobody = kaplan_meier([300], [False], [4], min_n=3)
    assert nobody.enough_data and nobody.median is None and nobody.events == 0


def test_survival_curve_equals_r_survfit_with_log_log_intervals() -> None:
    # R: summary(survfit(Surv(c(1,2,2,3,5,8,8,10,10), c(1,1,0,1,0,1,0,0,0)) ~ 1, conf.type="log-log"))
    points = survival_curve(
        [1, 2, 2, 3, 5, 8, 8, 10], [True, True, False, True, False, True, False, False], [1, 1, 1, 1, 1, 1, 1, 2]
    )
    assert [(p.time, p.at_risk) for p in points] == [(0, 9), (1, 9), (2, 8), (3, 6), (8, 4), (10, 2)]
    assert [p.survival for p in points] == pytest.approx(
        [1, 8 / 9, 7 / 9, 7 / 9 * 5 / 6, 7 / 9 * 5 / 6 * 3 / 4, 7 / 9 * 5 / 6 * 3 / 4]
    )
    assert (points[1].ci_low, points[1].ci_high) == pytest.approx((0.4330, 0.9836), abs=5e-5)
    assert points[-1].survival == points[-2].survival  # censored tail: flat to the longest time observed
    assert all(p.ci_low <= p.survival <= p.ci_high for p in points)


@given(
    st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=300).filter(
        lambda rows: any(e for _, e in rows)
    )
)
def test_survival_curve_from_counted_pairs_is_statsmodels_step_function(rows: list[tuple[int, bool]]) -> None:
    """Counted (time, event) pairs give statsmodels' curve on the raw rows: never rising, at most 200 steps."""
    pairs: dict[tuple[int, bool], int] = {}
    for pair in rows:
        pairs[pair] = pairs.get(pair, 0) + 1
    points = survival_curve([t for t, _ in pairs], [e for _, e in pairs], list(pairs.values()))
    fit = SurvfuncRight(np.array([t for t, _ in rows], dtype=float), np.array([e for _, e in rows], dtype=float))
    reference = dict(zip(fit.surv_times, fit.surv_prob, strict=True))
    assert len(points) <= 202 and points[-1].time == max(t for t, _ in rows)
    assert all(a.survival >= b.survival and a.time < b.time for a, b in zip(points, points[1:]))
    for p in points:
        if p.time in reference:
            assert p.survival == pytest.approx(reference[p.time])
        assert 0 <= p.ci_low <= p.survival <= p.ci_high <= 1


def test_survival_curve_without_answers_stays_at_one() -> None:
    assert [(p.time, p.survival) for p in survival_curve([300], [False], [4])] == [(0, 1), (300, 1)]
    assert survival_curve([], []) == []


def test_tiers_separate_only_significant_differences() -> None:
    far = [Counts(200, 190), Counts(200, 100), Counts(200, 10)]
    assert tiers([c.successes / c.n for c in far], proportion_pvalues(far), higher_is_better=True) == [1, 2, 3]
    assert tiers([c.successes / c.n for c in far], proportion_pvalues(far), higher_is_better=False) == [3, 2, 1]
    close = [Counts(20, 15), Counts(20, 14), Counts(20, 13)]
    assert tiers([c.successes / c.n for c in close], proportion_pvalues(close), higher_is_better=True) == [1, 1, 1]
    # A middle group close to both ends keeps the ends in one tier with it.
    chain = [Counts(40, 36), Counts(40, 28), Counts(40, 20)]
    assert len(set(tiers([c.successes / c.n for c in chain], proportion_pvalues(chain), higher_is_better=True))) < 3


@given(st.lists(st.tuples(st.integers(5, 60), st.floats(0, 1)), min_size=2, max_size=12))
def test_groups_in_different_tiers_differ_significantly_after_holm(groups: list[tuple[int, float]]) -> None:
    counts = [Counts(n, round(n * share)) for n, share in groups]
    p = proportion_pvalues(counts)
    result = tiers([c.successes / c.n for c in counts], p, higher_is_better=True)
    m = len(counts)
    upper = np.triu_indices(m, 1)
    reject = np.zeros((m, m), dtype=bool)
    reject[upper] = holm_reject(p[upper])
    reject |= reject.T
    for i in range(m):
        for j in range(m):
            if result[i] != result[j]:
                assert reject[i, j]
                # and the better tier has the better share
                assert (result[i] < result[j]) == (
                    counts[i].successes / counts[i].n > counts[j].successes / counts[j].n
                )
    assert min(result) == 1 and sorted(set(result)) == list(range(1, max(result) + 1))


def test_welch_and_nps_pvalues_are_symmetric_and_flat_groups_behave() -> None:
    ms = [moments([80, 82, 84]), moments([80, 82, 84]), moments([50, 50, 50]), moments([50, 50, 50])]
    p = welch_pvalues(ms)
    assert np.allclose(p, p.T) and p[0, 1] == pytest.approx(1.0) and p[2, 3] == 1.0
    assert p[0, 2] < 0.05
    n = nps_pvalues([NpsCounts(10, 0, 0), NpsCounts(0, 0, 10)])
    assert n[0, 1] == 0.0


@given(st.lists(st.floats(0, 100), min_size=2, max_size=30), st.lists(st.floats(0, 100), min_size=2, max_size=30))
def test_mean_difference_is_welchs_interval(a: list[float], b: list[float]) -> None:
    got = mean_difference(moments(a), moments(b), min_n=2)
    assert got.difference == pytest.approx(statistics.fmean(a) - statistics.fmean(b), abs=1e-9)
    if statistics.stdev(a) > 1e-6 and statistics.stdev(b) > 1e-6:
        low, high = CompareMeans.from_data(np.array(a), np.array(b)).tconfint_diff(usevar="unequal")
        assert (got.low, got.high) == pytest.approx((low, high), rel=1e-6, abs=1e-6)


def test_proportion_difference_is_newcombes_interval() -> None:
    got = proportion_difference(Counts(20, 18), Counts(20, 10), min_n=1)
    assert got.difference == pytest.approx(0.4)
    assert (got.low, got.high) == pytest.approx((0.1159299, 0.6132710), abs=1e-6)
    assert got.significant is True
    assert proportion_difference(Counts(2, 1), Counts(20, 10), min_n=3).difference is None


# Few examples: multipletests runs a full garbage collection on each call (why holm_reject exists).
@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_holm_equals_statsmodels_multipletests(pvalues: list[float]) -> None:
    p = np.array(pvalues)
    assert (holm_reject(p) == multipletests(p, alpha=0.05, method="holm")[0]).all()


def _holm_full_sort(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down over every p-value sorted (how holm_reject worked before it sorted only the middle)."""
    order = np.argsort(p, kind="stable")
    passes = p[order] <= alpha / (p.size - np.arange(p.size))
    stop = p.size if passes.all() else int(np.argmin(passes))
    reject = np.zeros(p.size, dtype=bool)
    reject[order[:stop]] = True
    return reject


def _tiers_pairwise(values: list[float], p: np.ndarray) -> list[int]:
    """tiers() as a loop over the ranked groups (how it worked before it was vectorised)."""
    m = len(values)
    order = sorted(range(m), key=lambda i: -values[i])
    upper = np.triu_indices(m, 1)
    significant = np.zeros((m, m), dtype=bool)
    significant[upper] = _holm_full_sort(np.where(np.isnan(p[upper]), 1.0, p[upper]))
    significant |= significant.T
    ranked = significant[np.ix_(order, order)]
    reach, tier, result = 0, 1, [0] * m
    for k in range(m):
        result[order[k]] = tier
        alike = np.flatnonzero(~ranked[k, k + 1 :])
        if alike.size:
            reach = max(reach, k + 1 + int(alike[-1]))
        if reach <= k:
            tier += 1
    return result


# p-values crowded around Holm's bounds (alpha / m … alpha), with ties.
_P = st.one_of(st.sampled_from([0.0, 1e-9, 0.05 / 45, 0.05 / 10, 0.01, 0.05, 0.0500001, 1.0]), st.floats(0, 0.06))


@settings(max_examples=300)
@given(st.lists(_P, min_size=1, max_size=45))
def test_holm_reject_equals_the_step_down_over_every_sorted_p_value(pvalues: list[float]) -> None:
    p = np.array(pvalues)
    assert (holm_reject(p) == _holm_full_sort(p)).all()


@settings(max_examples=200)
@given(st.integers(2, 10).flatmap(lambda m: st.tuples(st.just(m), st.lists(_P, min_size=m * m, max_size=m * m))))
def test_tiers_equal_the_pairwise_loop(case: tuple[int, list[float]]) -> None:
    m, flat = case
    p = np.array(flat).reshape(m, m)
    p = np.triu(p, 1) + np.triu(p, 1).T
    values = [float(m - k) for k in range(m)]  # ordered as given: tiers follow the p-values alone
    assert tiers(values, p, higher_is_better=True) == _tiers_pairwise(values, p)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(2, 400), st.floats(40, 100), st.floats(0, 25)), min_size=2, max_size=40).map(
        lambda gs: [Moments(n, n * mean, n * (mean * mean + sd * sd)) for n, mean, sd in gs]
    )
)
def test_welch_p_values_computed_only_where_holm_acts_give_the_same_tiers(ms: list[Moments]) -> None:
    pairs = len(ms) * (len(ms) - 1) // 2
    low, high = 0.05 / pairs, 0.05
    full, pruned = welch_pvalues(ms), welch_pvalues(ms, exact_between=(low, high))
    upper = np.triu_indices(len(ms), 1)
    f, q = full[upper], pruned[upper]
    assert (f[q == 0.0] <= low).all() and (f[(q == 1.0) & (f != 1.0)] > high).all()
    same = (q != 0.0) & (q != 1.0)
    assert (q[same] == f[same]).all()
    values = [m.total / m.n for m in ms]
    assert tiers(values, pruned, higher_is_better=True) == tiers(values, full, higher_is_better=True)
    assert tiers(values, full, higher_is_better=True) == _tiers_pairwise(values, full)


# Groups whose means are crowded (many pairs near Holm's bounds, ties, groups without spread) or spread out (many
# tiers), with sample sizes from a handful to a location's thousands.
_GROUPS = st.lists(
    st.tuples(
        st.integers(2, 3000),
        st.one_of(st.sampled_from([60.0, 60.5, 61.0, 70.0]), st.floats(55, 75)),
        st.one_of(st.just(0.0), st.floats(0, 25)),
    ),
    min_size=1,
    max_size=60,
).map(lambda gs: [Moments(n, n * mean, n * (mean * mean + sd * sd)) for n, mean, sd in gs])


@settings(max_examples=300, deadline=None)
@given(_GROUPS, st.booleans())
def test_mean_tiers_equal_the_tiers_of_every_welch_p_value(ms: list[Moments], higher_is_better: bool) -> None:
    values = [m.total / m.n for m in ms]
    expected = tiers(values, welch_pvalues(ms), higher_is_better=higher_is_better)
    assert mean_tiers(ms, higher_is_better=higher_is_better) == expected


def test_mean_tiers_of_300_locations_in_many_tiers_equal_the_full_computation() -> None:
    """The benchmark's shape (300 locations of about 700 reports), once with the means a chain of close steps and
    once spread so that there are many tiers; both with p-values in Holm's band."""
    rng = np.random.default_rng(16)
    for step in (0.05, 0.4, 1.5):
        ms = []
        for k in range(300):
            n, mean, sd = int(rng.integers(600, 800)), 50 + step * (k // 3) + rng.normal(0, 0.3), rng.uniform(4, 8)
            ms.append(Moments(n, n * mean, n * (mean * mean + sd * sd)))
        values = [m.total / m.n for m in ms]
        expected = tiers(values, welch_pvalues(ms), higher_is_better=True)
        assert mean_tiers(ms, higher_is_better=True) == expected
        assert mean_tiers(ms, higher_is_better=False) == tiers(values, welch_pvalues(ms), higher_is_better=False)
    assert len(set(expected)) > 10


@given(st.lists(st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, math.inf, -math.inf])), max_size=40))
def test_the_normal_tail_is_scipys_norm_sf_exactly(zs: list[float]) -> None:
    """proportion_pvalues and nps_pvalues call special.ndtr(-z), the function stats.norm.sf(z) evaluates."""
    from scipy import special

    z = np.array(zs, dtype=float)
    assert np.array_equal(special.ndtr(-z), stats.norm.sf(z), equal_nan=True)


def test_the_mixed_model_finds_the_strict_shopper_and_adjusts_for_her() -> None:
    """Two equally good shops; the strict shopper (−15 points) shopped mostly shop B: raw means differ,
    adjusted ones do not, and her effect is found with an interval below 0."""
    from backend.analytics.statistics import shopper_model

    rng = np.random.default_rng(7)
    bias = {"strict": -15.0, "fair1": 0.0, "fair2": 0.0, "fair3": 2.0}
    rows = []
    for shop, visits in (
        ("A", {"strict": 3, "fair1": 10, "fair2": 10, "fair3": 10}),
        ("B", {"strict": 20, "fair1": 4, "fair2": 4, "fair3": 4}),
    ):
        for shopper, count in visits.items():
            rows += [(shop, shopper, 75 + bias[shopper] + float(rng.normal(0, 4))) for _ in range(count)]
    model = shopper_model(rows)
    assert model is not None
    raw = {g: statistics.fmean(s for gg, _, s in rows if gg == g) for g in ("A", "B")}
    adjusted = {e.key: e for e in model.groups}
    assert raw["A"] - raw["B"] > 5
    assert abs(adjusted["A"].estimate - adjusted["B"].estimate) < 3
    assert adjusted["A"].low < adjusted["A"].estimate < adjusted["A"].high
    effects = {e.key: e for e in model.shoppers}
    assert effects["strict"].high < 0 and effects["strict"].estimate < -8
    # Effects are relative to the average shopper, the strict one included.
    assert abs(effects["fair1"].estimate - effects["fair2"].estimate) < 3
    assert effects["fair1"].estimate - effects["strict"].estimate == pytest.approx(15, abs=3)
    assert effects["strict"].n == 23
    assert shopper_model([("A", "one", 80.0)] * 10) is None  # one shopper: nothing to separate


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=20), st.integers(1, 5))
def test_vectorised_intervals_equal_one_by_one(pairs: list[tuple[int, int]], min_n: int) -> None:
    from backend.analytics.statistics import mean_intervals, wilsons

    counts = [Counts(a + b, a) for a, b in pairs]
    assert wilsons(counts, min_n=min_n) == [wilson(c, min_n=min_n) for c in counts]
    ms = [moments([float(a), float(b), float(a + b)]) for a, b in pairs]
    assert mean_intervals(ms, min_n=min_n) == [mean_interval(m, min_n=min_n) for m in ms]


@given(st.lists(st.lists(st.floats(0, 100), min_size=1, max_size=30).map(moments), max_size=30), st.integers(1, 5))
def test_vectorised_mean_intervals_are_exactly_the_one_by_one_ones(ms: list[Moments], min_n: int) -> None:
    from backend.analytics.statistics import mean_intervals

    assert mean_intervals(ms, min_n=min_n) == [mean_interval(m, min_n=min_n) for m in ms]
    assert mean_intervals(ms, min_n=min_n, bounds=(-5.0, 50.0)) == [
        mean_interval(m, min_n=min_n, bounds=(-5.0, 50.0)) for m in ms
    ]
