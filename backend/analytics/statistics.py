"""Statistics over aggregated sums and counts (pure, no I/O): estimates with 95% intervals, tiers, differences.

Every estimate carries its n; below the minimum n it is "not enough data" (no value, no interval).
The distributions and intervals come from scipy and statsmodels, not from hand-written formulas:
Wilson score intervals (statsmodels ``proportion_confint``), Student t for means, Kaplan–Meier
medians with their interval (statsmodels ``SurvfuncRight``; the interval inverts the cloglog
test as SAS's LIFETEST does), Newcombe's interval for a difference of proportions, Welch's t-test
and Holm's correction (checked against statsmodels ``multipletests``) for tiers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
_Z = float(stats.norm.ppf(1 - ALPHA / 2))


@dataclass(frozen=True, slots=True)
class Moments:
    """What SQL can aggregate in one pass: count, sum, sum of squares."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def variance(self) -> float:
        """Sample variance (n − 1); 0 for fewer than two values."""
        if self.n < 2:
            return 0.0
        mean = self.total / self.n
        variance = (self.total_sq - self.n * mean * mean) / (self.n - 1)
        # Sum-of-squares variance is off by rounding when all values are equal: slightly negative, or a
        # tiny positive remainder (about n × 1e-16 × mean²) that would give equal values a non-zero interval.
        return 0.0 if variance <= 1e-12 * self.n * mean * mean else variance


@dataclass(frozen=True, slots=True)
class MeanInterval:
    n: int
    mean: float | None
    low: float | None
    high: float | None
    enough_data: bool


def mean_interval(
    m: Moments,
    *,
    min_n: int,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] = (0.0, 100.0),
    t_quantile: float | None = None,
) -> MeanInterval:
    """Mean and t-interval; below `min_n` (and always below 2) there is not enough data for either.
    `t_quantile`: Student t's quantile for n − 1 degrees of freedom when the caller has it (see mean_intervals)."""
    if m.n < max(min_n, 2):
        return MeanInterval(m.n, None, None, None, False)
    mean = m.total / m.n
    if t_quantile is None:
        t_quantile = float(stats.t.ppf(0.5 + confidence / 2, m.n - 1))
    half = t_quantile * math.sqrt(m.variance / m.n)
    low, high = bounds
    return MeanInterval(m.n, mean, max(low, mean - half), min(high, mean + half), True)


def mean_intervals(
    moments: Sequence[Moments], *, min_n: int, bounds: tuple[float, float] = (0.0, 100.0)
) -> list[MeanInterval]:
    """mean_interval of many groups (equal to it, tested) as array arithmetic: the same operations in the same order
    on each group, every t quantile from one call of the function scipy's t.ppf evaluates (the benchmark's 300
    locations: half the time of a Python loop over mean_interval)."""
    if not moments:
        return []
    n = np.array([m.n for m in moments], dtype=float)
    total = np.array([m.total for m in moments])
    total_sq = np.array([m.total_sq for m in moments])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        variance = (total_sq - n * mean * mean) / (n - 1)
        variance = np.where(variance <= 1e-12 * n * mean * mean, 0.0, variance)  # as Moments.variance
        half = special.stdtrit(np.maximum(n - 1, 1), 0.5 + CONFIDENCE / 2) * np.sqrt(variance / n)
    low, high = bounds
    lows, highs = np.maximum(low, mean - half).tolist(), np.minimum(high, mean + half).tolist()
    enough = max(min_n, 2)
    return [
        MeanInterval(m.n, mu, lo, hi, True) if m.n >= enough else MeanInterval(m.n, None, None, None, False)
        for m, mu, lo, hi in zip(moments, mean.tolist(), lows, highs, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Counts:
    """A proportion's sufficient statistics: successes out of n."""

    n: int = 0
    successes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.n + other.n, self.successes + other.successes)


def wilson(c: Counts, *, min_n: int) -> MeanInterval:
    """The share of successes with its Wilson score interval (as R's binom.confint "wilson")."""
    if c.n < max(min_n, 1):
        return MeanInterval(c.n, None, None, None, False)
    low, high = proportion_confint(c.successes, c.n, alpha=ALPHA, method="wilson")
    # Wilson's bounds are exactly 0 and 1 at 0/n and n/n; float error can leave -1e-17.
    return MeanInterval(c.n, c.successes / c.n, max(0.0, float(low)), min(1.0, float(high)), True)


def wilsons(counts: Sequence[Counts], *, min_n: int) -> list[MeanInterval]:
    """wilson() of many groups in one vectorised proportion_confint call."""
    enough = [c for c in counts if c.n >= max(min_n, 1)]
    if enough:
        lows, highs = proportion_confint(
            np.array([c.successes for c in enough]), np.array([c.n for c in enough]), alpha=ALPHA, method="wilson"
        )
        bounds = iter(zip(np.atleast_1d(lows), np.atleast_1d(highs), strict=False))
    result = []
    for c in counts:
        if c.n < max(min_n, 1):
            result.append(MeanInterval(c.n, None, None, None, False))
        else:
            low, high = next(bounds)
            result.append(MeanInterval(c.n, c.successes / c.n, max(0.0, float(low)), min(1.0, float(high)), True))
    return result


@dataclass(frozen=True, slots=True)
class NpsCounts:
    """Answers to "how likely would you recommend…" (0–10): promoters 9–10, passives 7–8, detractors 0–6."""

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def __add__(self, other: NpsCounts) -> NpsCounts:
        return NpsCounts(
            self.promoters + other.promoters, self.passives + other.passives, self.detractors + other.detractors
        )

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @classmethod
    def of(cls, marks: Sequence[int]) -> NpsCounts:
        return cls(
            sum(1 for m in marks if m >= 9), sum(1 for m in marks if 7 <= m <= 8), sum(1 for m in marks if m <= 6)
        )


def nps_and_variance(c: NpsCounts) -> tuple[float, float]:
    """NPS as a fraction (−1…1) and the variance of one answer's score (+1 promoter, 0 passive, −1
    detractor): p + d − (p − d)²; the NPS's standard error is sqrt(variance / n)."""
    p, d = c.promoters / c.n, c.detractors / c.n
    return p - d, p + d - (p - d) ** 2


def nps_interval(c: NpsCounts, *, min_n: int) -> MeanInterval:
    """NPS on its usual −100…100 scale with a normal 95% interval from its variance, clipped to the scale."""
    if c.n < max(min_n, 2):
        return MeanInterval(c.n, None, None, None, False)
    nps, variance = nps_and_variance(c)
    half = _Z * math.sqrt(variance / c.n)
    return MeanInterval(c.n, 100 * nps, 100 * max(-1.0, nps - half), 100 * min(1.0, nps + half), True)


@dataclass(frozen=True, slots=True)
class Survival:
    """A Kaplan–Meier summary of waiting times, censoring respected.

    `median`/`q25`/`q75` are None when the curve never falls that far (more than half still waiting
    at the last time: "not reached"); `ci_high` is None when the interval is open above ("not reached").
    """

    n: int
    events: int
    enough_data: bool
    median: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    q25: float | None = None
    q75: float | None = None


def _quantile(fit: SurvfuncRight, p: float) -> float | None:
    value = float(fit.quantile(p))
    return None if math.isnan(value) else value


def _greenwood(survival: np.ndarray, at_risk: np.ndarray, died: np.ndarray) -> np.ndarray:
    """Greenwood's standard error of a Kaplan–Meier curve, as statsmodels computes it for unweighted rows."""
    denominator = np.clip(at_risk * (at_risk - died), 1e-12, np.inf)
    terms = died / denominator
    terms[(at_risk == died) | (at_risk == 0)] = np.nan
    se = np.sqrt(np.cumsum(terms))
    finite = np.isfinite(se) | (survival != 0)
    se[finite] *= survival[finite]
    se[~finite] = np.nan
    return np.asarray(se, dtype=float)


def kaplan_meier(
    times: Sequence[float], events: Sequence[bool], counts: Sequence[int] | None = None, *, min_n: int
) -> Survival:
    """Kaplan–Meier median, quartiles and the median's 95% interval of right-censored times.

    `counts`: how many contacts share each (time, event) pair (SQL returns distinct pairs with a count), given
    to statsmodels as frequency weights, so a million contacts cost as much as their few hundred distinct
    times. statsmodels computes a weighted curve's standard error by Tsiatis' formula; with whole-number
    frequency weights the risk sets and event counts are those of the repeated rows, so Greenwood's
    formula (what it uses for unweighted rows) is put back from them, and every figure equals statsmodels'
    on the repeated rows. When the data are so dense that no observed time lies inside the test's band,
    statsmodels has no interval; the interval is then the median itself (narrower than the data's resolution).
    """
    t = np.asarray(times, dtype=float)
    e = np.asarray(events, dtype=float)
    w = np.ones_like(t) if counts is None else np.asarray(counts, dtype=float)
    keep = w > 0
    t, e, w = t[keep], e[keep], w[keep]
    n, n_events = int(w.sum()), int((w * e).sum())
    if n < max(min_n, 1):
        return Survival(n, n_events, False)
    if n_events == 0:  # nobody was ever answered: nothing reached
        return Survival(n, 0, True)
    fit = SurvfuncRight(t, e, freq_weights=w)
    fit.surv_prob_se = _greenwood(fit.surv_prob, fit.n_risk, fit.n_events)
    median = _quantile(fit, 0.5)
    with warnings.catch_warnings():
        # log(-log(S)) at S = 1 or 0 divides by zero; those points are outside the band anyway.
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = fit.quantile_ci(0.5, alpha=ALPHA)
    low, high = float(low), float(high)
    if math.isnan(low) and median is not None:
        low = high = median
    return Survival(
        n,
        n_events,
        True,
        median=median,
        ci_low=None if math.isnan(low) else low,
        ci_high=None if math.isnan(high) or math.isinf(high) else high,
        q25=_quantile(fit, 0.25),
        q75=_quantile(fit, 0.75),
    )


CURVE_POINTS = 200


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One step of a Kaplan–Meier curve: from `time` on, `survival` are still waiting (pointwise 95% interval)."""

    time: float
    survival: float
    ci_low: float
    ci_high: float
    at_risk: int


def survival_curve(
    times: Sequence[float],
    events: Sequence[bool],
    counts: Sequence[int] | None = None,
    *,
    max_points: int = CURVE_POINTS,
) -> list[CurvePoint]:
    """The Kaplan–Meier step function (statsmodels SurvfuncRight, Greenwood standard errors) as points.

    It starts at (0, 1), has one point per time someone was answered, and ends at the longest time
    observed (censored times beyond the last answer keep the curve flat there). The pointwise 95% interval
    is the log(−log) one (as R's survfit conf.type="log-log"), which stays inside 0…1. Longer curves are
    thinned to `max_points` steps spread evenly along them (each kept point is still exact).
    """
    t = np.asarray(times, dtype=float)
    e = np.asarray(events, dtype=float)
    w = np.ones_like(t) if counts is None else np.asarray(counts, dtype=float)
    keep = w > 0
    t, e, w = t[keep], e[keep], w[keep]
    if t.size == 0:
        return []
    start = CurvePoint(0.0, 1.0, 1.0, 1.0, int(w.sum()))
    if (w * e).sum() == 0:
        return [start, CurvePoint(float(t.max()), 1.0, 1.0, 1.0, int(w[t >= t.max()].sum()))]
    fit = SurvfuncRight(t, e, freq_weights=w)  # counted rows as weights, Greenwood's SE (see kaplan_meier)
    surv = np.asarray(fit.surv_prob, dtype=float)
    se = _greenwood(surv, fit.n_risk, fit.n_events)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = _Z * se / (surv * np.abs(np.log(surv)))
        low = np.where((surv > 0) & (surv < 1) & (se > 0), surv ** np.exp(spread), surv)
        high = np.where((surv > 0) & (surv < 1) & (se > 0), surv ** np.exp(-spread), surv)
    points = [
        CurvePoint(float(time), float(s), float(lo), float(hi), int(r))
        for time, s, lo, hi, r in zip(fit.surv_times, surv, low, high, fit.n_risk, strict=True)
    ]
    if len(points) > max_points:
        keep = np.unique(np.linspace(0, len(points) - 1, max_points).round().astype(int))
        points = [points[k] for k in keep]
    last = float(t.max())
    if last > points[-1].time:
        end = points[-1]
        points.append(CurvePoint(last, end.survival, end.ci_low, end.ci_high, int(w[t >= last].sum())))
    return [start, *points] if points[0].time > 0 else points


# --- Tiers ------------------------------------------------------------------------------------------


def tiers(values: Sequence[float], pvalues: np.ndarray, *, higher_is_better: bool, alpha: float = ALPHA) -> list[int]:
    """Tier (1 = best) of each group given the raw two-sided p-value of every pair (a symmetric matrix).

    p-values are adjusted with Holm's step-down correction over all pairs (family-wise error ≤ alpha).
    Groups are ordered by value; a tier boundary falls between two neighbours only when EVERY group above
    it differs significantly from every group below it. So two groups in different tiers always differ
    significantly, and groups that do not share a tier for no reason.
    """
    m = len(values)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: -values[i] if higher_is_better else values[i])
    if m == 1:
        return [1]
    upper = np.triu_indices(m, 1)
    raw = np.asarray(pvalues, dtype=float)[upper]
    raw = np.where(np.isnan(raw), 1.0, raw)
    reject = holm_reject(raw, alpha)
    significant = np.zeros((m, m), dtype=bool)
    significant[upper] = reject
    significant |= significant.T
    ranked = significant[np.ix_(order, order)]
    # reach[k]: the last position j > k that some position i <= k does NOT differ from (0 if none); a
    # boundary after k is allowed only when no position i <= k reaches past k.
    alike = np.triu(~ranked, 1)
    last = np.where(alike.any(axis=1), m - 1 - np.argmax(alike[:, ::-1], axis=1), 0)
    boundary = np.maximum.accumulate(last) <= np.arange(m)
    in_order = 1 + np.concatenate(([0], np.cumsum(boundary)[:-1]))
    result = [0] * m
    for k, tier in zip(order, in_order.tolist(), strict=True):
        result[k] = tier
    return result


def holm_reject(pvalues: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down rejections, equal to statsmodels' ``multipletests(method="holm")[0]`` (tested); that
    function runs a full garbage collection on every call (~0.1 s in a server process), so the step-down is
    done here: sorted ascending, reject while p₍ₖ₎ ≤ alpha / (m − k), stop at the first that is not."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    # Every p-value at or below alpha / m passes its step wherever it stands (the bounds only grow), and none
    # above alpha ever passes: only those between are sorted, placed after the ones below.
    reject = p <= alpha / m
    middle = np.flatnonzero((p > alpha / m) & (p <= alpha))
    order = middle[np.argsort(p[middle], kind="stable")]
    passes = p[order] <= alpha / (m - (int(reject.sum()) + np.arange(order.size)))
    stop = order.size if passes.all() else int(np.argmin(passes))
    reject[order[:stop]] = True
    return reject


def welch_pvalues(moments: Sequence[Moments], *, exact_between: tuple[float, float] | None = None) -> np.ndarray:
    """Two-sided Welch t-test p-value of every pair of means (from their moments).

    `exact_between=(low, high)`: Student t's survival function is most of this function's cost (300 groups are
    44,850 pairs), and Holm's step-down (``tiers``) needs exact p-values only between alpha / pairs and alpha
    (see holm_reject); a pair whose p-value is certainly below `low` gets 0.0, certainly above `high` 1.0.
    Certainly, by Student t's tails: for a given |t| the two-sided p-value falls as the degrees of freedom rise
    (Welch's are at least the smaller group's n − 1) and is never below the normal one; the bounds keep a
    relative margin of 1e-6 in |t|, far above the functions' rounding."""
    n = np.array([m.n for m in moments], dtype=float)
    mean = np.array([m.total / m.n for m in moments])
    sd = np.sqrt(np.array([m.variance for m in moments]))
    if exact_between is not None:
        return _welch_pvalues_between(n, mean, sd, exact_between)
    i, j = np.triu_indices(len(moments), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.ttest_ind_from_stats(mean[i], sd[i], n[i], mean[j], sd[j], n[j], equal_var=False)
    p = np.asarray(result.pvalue, dtype=float)
    # Both groups without spread: equal means do not differ, different ones do.
    flat = (sd[i] == 0) & (sd[j] == 0)
    p = np.where(flat, np.where(mean[i] == mean[j], 1.0, 0.0), p)
    return _symmetric(len(moments), i, j, p)


def _welch_pvalues_between(n: np.ndarray, mean: np.ndarray, sd: np.ndarray, between: tuple[float, float]) -> np.ndarray:
    """welch_pvalues with exact_between: the bounds on whole matrices (no gathering of 44,850 pairs), Student t
    only for the pairs in the band."""
    low, high = between
    spread = sd * sd / n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean[:, None] - mean[None, :]) / np.sqrt(spread[:, None] + spread[None, :])
        fewest = max(float(n.min()) - 1, 1.0) if n.size else 1.0
        below = t > float(stats.t.isf(low / 2, fewest)) * (1 + 1e-6)
        above = t < float(stats.norm.isf(high / 2)) * (1 - 1e-6)
        p = np.where(below, 0.0, 1.0)
        a, b = np.nonzero(np.triu(~(below | above), 1))
        if a.size:
            result = stats.ttest_ind_from_stats(mean[a], sd[a], n[a], mean[b], sd[b], n[b], equal_var=False)
            p[a, b] = p[b, a] = np.asarray(result.pvalue, dtype=float)
    # Both groups without spread: equal means do not differ, different ones do.
    flat = (sd[:, None] == 0) & (sd[None, :] == 0)
    p = np.where(flat, np.where(mean[:, None] == mean[None, :], 1.0, 0.0), p)
    np.fill_diagonal(p, 1.0)
    return p


def mean_tiers(moments: Sequence[Moments], *, higher_is_better: bool, alpha: float = ALPHA) -> list[int]:
    """The tiers of means (their values m.total / m.n): ``tiers(values, welch_pvalues(moments), ...)`` exactly
    (tested), without most of the p-values.

    Holm's step-down rejects only p-values at most alpha / (A + 1) when A p-values are certainly above alpha (they
    sort after every rejected one), then at most alpha / (A' + 1) when A' are certainly above that, and so on; a pair
    certainly below alpha / pairs is rejected wherever it stands. Certainly, by Student t's tails as in
    welch_pvalues' exact_between (a relative margin of 1e-6 in |t|, here compared squared). Student t is evaluated
    only for the pairs between (for the benchmark's 300 locations none of 44,850), and the groups are taken in rank
    order from the start, so the tiers follow from one pass over the matrix."""
    m = len(moments)
    if m < 2:
        return [1] * m
    values = [g.total / g.n for g in moments]
    order = sorted(range(m), key=lambda i: -values[i] if higher_is_better else values[i])
    ranked = [moments[k] for k in order]
    n = np.array([g.n for g in ranked], dtype=float)
    mean = np.array([values[k] for k in order])
    sd = np.sqrt(np.array([g.variance for g in ranked]))
    pairs = m * (m - 1) // 2
    spread = sd * sd / n
    gap = mean[:, None] - mean[None, :]
    gap *= gap
    with np.errstate(divide="ignore", invalid="ignore"):
        # t² of every pair, both ways round; NaN for two groups without spread and with equal means (they do not
        # differ: Student t's NaN is taken as p = 1 below, as in welch_pvalues).
        t2 = gap / (spread[:, None] + spread[None, :])
    np.fill_diagonal(t2, 0.0)
    fewest = max(float(n.min()) - 1, 1.0)
    below = t2 > (float(-special.stdtrit(fewest, alpha / pairs / 2)) * (1 + 1e-6)) ** 2
    high, certainly_above, count_above = alpha, 0, 0
    while True:
        above = t2 < (float(-special.ndtri(high / 2)) * (1 - 1e-6)) ** 2
        count_above = int(np.count_nonzero(above))
        count = (count_above - m) // 2  # pairs: the matrix holds each twice, and the diagonal
        if count <= certainly_above:
            break
        certainly_above, high = count, alpha / (count + 1)
    count_below = int(np.count_nonzero(below))
    a = b = np.zeros(0, dtype=np.intp)
    p = np.ones(0)
    if count_below + count_above < m * m:
        a, b = np.nonzero(np.triu(~(below | above), 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            welch = stats.ttest_ind_from_stats(mean[a], sd[a], n[a], mean[b], sd[b], n[b], equal_var=False)
        p = np.where(np.isnan(welch.pvalue), 1.0, np.asarray(welch.pvalue, dtype=float))
    # Holm over all pairs: the certain ones and the band's p-values at most alpha / pairs, then the band's steps.
    first = p <= alpha / pairs
    rejected = count_below // 2 + int(np.count_nonzero(first))
    middle = np.flatnonzero(~first & (p <= alpha))
    steps = middle[np.argsort(p[middle], kind="stable")]
    passes = p[steps] <= alpha / (pairs - (rejected + np.arange(steps.size)))
    stop = steps.size if passes.all() else int(np.argmin(passes))
    significant = below
    significant[a[first], b[first]] = True
    significant[a[steps[:stop]], b[steps[:stop]]] = True
    # As in tiers: a boundary after rank k only when no rank at or above k is alike with one below it. last[k] is the
    # last rank alike with k, at least k itself (ranks up to k reach no further than k, so the lower half can stay).
    last = m - 1 - np.argmax(~significant[:, ::-1], axis=1)
    boundary = np.maximum.accumulate(last) <= np.arange(m)
    in_order = 1 + np.concatenate(([0], np.cumsum(boundary)[:-1]))
    result = [0] * m
    for k, tier in zip(order, in_order.tolist(), strict=True):
        result[k] = tier
    return result


def proportion_pvalues(counts: Sequence[Counts]) -> np.ndarray:
    """Two-sided pooled two-proportion z-test p-value of every pair."""
    n = np.array([c.n for c in counts], dtype=float)
    x = np.array([c.successes for c in counts], dtype=float)
    i, j = np.triu_indices(len(counts), 1)
    pooled = (x[i] + x[j]) / (n[i] + n[j])
    se = np.sqrt(pooled * (1 - pooled) * (1 / n[i] + 1 / n[j]))
    diff = x[i] / n[i] - x[j] / n[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        # special.ndtr(-z) is what stats.norm.sf(z) evaluates, without its argument handling (~0.1 ms a call).
        p = np.where(se > 0, 2 * special.ndtr(-(np.abs(diff) / se)), 1.0)
    return _symmetric(len(counts), i, j, p)


def nps_pvalues(counts: Sequence[NpsCounts]) -> np.ndarray:
    """Two-sided z-test p-value of every pair of NPS, from each one's variance."""
    est = np.array([nps_and_variance(c) for c in counts])
    n = np.array([c.n for c in counts], dtype=float)
    i, j = np.triu_indices(len(counts), 1)
    se = np.sqrt(est[i, 1] / n[i] + est[j, 1] / n[j])
    diff = est[i, 0] - est[j, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * special.ndtr(-(np.abs(diff) / se)), np.where(diff == 0, 1.0, 0.0))  # norm.sf
    return _symmetric(len(counts), i, j, p)


def interval_pvalues(intervals: Sequence[tuple[float, float | None]]) -> np.ndarray:
    """For figures without a pairwise test (Kaplan–Meier medians): 0 where the 95% intervals do not
    overlap, 1 where they do (an open upper bound reaches to infinity)."""
    low = np.array([a for a, _ in intervals], dtype=float)
    high = np.array([math.inf if b is None else b for _, b in intervals], dtype=float)
    i, j = np.triu_indices(len(intervals), 1)
    apart = (high[i] < low[j]) | (high[j] < low[i])
    return _symmetric(len(intervals), i, j, np.where(apart, 0.0, 1.0))


def _symmetric(m: int, i: np.ndarray, j: np.ndarray, p: np.ndarray) -> np.ndarray:
    matrix = np.ones((m, m))
    matrix[i, j] = p
    matrix[j, i] = p
    return matrix


# --- Differences (own vs competitor) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    difference: float | None
    low: float | None
    high: float | None
    significant: bool | None


_NO_DIFFERENCE = Difference(None, None, None, None)


def mean_difference(a: Moments, b: Moments, *, min_n: int) -> Difference:
    """a − b with Welch's t-interval (Welch–Satterthwaite degrees of freedom)."""
    if a.n < max(min_n, 2) or b.n < max(min_n, 2):
        return _NO_DIFFERENCE
    diff = a.total / a.n - b.total / b.n
    va, vb = a.variance / a.n, b.variance / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(diff, diff, diff, diff != 0)
    # Welch–Satterthwaite, written with shares of the variance so tiny variances do not underflow to 0/0.
    wa, wb = va / (va + vb), vb / (va + vb)
    df = 1 / (wa * wa / (a.n - 1) + wb * wb / (b.n - 1))
    half = float(stats.t.ppf(1 - ALPHA / 2, df)) * se
    return Difference(diff, diff - half, diff + half, not (diff - half <= 0 <= diff + half))


def proportion_difference(a: Counts, b: Counts, *, min_n: int) -> Difference:
    """a − b (shares) with Newcombe's hybrid score interval (built from the two Wilson intervals)."""
    if a.n < max(min_n, 1) or b.n < max(min_n, 1):
        return _NO_DIFFERENCE
    low, high = confint_proportions_2indep(
        a.successes, a.n, b.successes, b.n, method="newcomb", compare="diff", alpha=ALPHA
    )
    diff = a.successes / a.n - b.successes / b.n
    low, high = float(low), float(high)
    return Difference(diff, low, high, not (low <= 0 <= high))


def nps_difference(a: NpsCounts, b: NpsCounts, *, min_n: int) -> Difference:
    """a − b (NPS points, −200…200) with a normal interval from the two variances."""
    if a.n < max(min_n, 2) or b.n < max(min_n, 2):
        return _NO_DIFFERENCE
    (na, va), (nb, vb) = nps_and_variance(a), nps_and_variance(b)
    diff = na - nb
    half = _Z * math.sqrt(va / a.n + vb / b.n)
    low, high = diff - half, diff + half
    return Difference(100 * diff, 100 * low, 100 * high, not (low <= 0 <= high))


# --- Shopper effects -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    key: str
    n: int
    estimate: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class ShopperModel:
    """A linear mixed model: score = group mean + shopper intercept + noise (statsmodels MixedLM, REML).

    `groups`: each group's mean at an average shopper (the fixed effect, with its Wald 95% interval): the
    score with shopper strictness taken out. `shoppers`: each shopper's random intercept (BLUP, points above
    or below the group means their reports would have at an average shopper) with a 95% interval from its
    conditional variance.
    """

    groups: list[Effect]
    shoppers: list[Effect]
    shopper_sd: float
    residual_sd: float


def shopper_model(rows: Sequence[tuple[str, str, float]]) -> ShopperModel | None:
    """Fit on (group, shopper, score) rows; None when it cannot be fitted (fewer than two shoppers or
    groups without spread between shoppers, a singular fit)."""
    import pandas as pd
    import statsmodels.formula.api as smf

    shoppers = {s for _, s, _ in rows}
    if len(shoppers) < 2 or len(rows) < 4:
        return None
    frame = pd.DataFrame(rows, columns=["group", "shopper", "score"])
    with warnings.catch_warnings():
        # Convergence and boundary warnings: a fit on the boundary (no shopper variance) is still a fit.
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm("score ~ 0 + C(group)", frame, groups=frame["shopper"]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError):
            return None
    if not np.all(np.isfinite(fit.fe_params)):
        return None
    intervals = fit.conf_int(alpha=ALPHA)
    counts = frame.groupby("group").size()
    groups = []
    for name in fit.fe_params.index:
        key = name[len("C(group)[") : -1]
        low, high = intervals.loc[name]
        groups.append(Effect(key, int(counts[key]), float(fit.fe_params[name]), float(low), float(high)))
    per_shopper = frame.groupby("shopper").size()
    effects = []
    for shopper, effect in fit.random_effects.items():
        variance = float(np.asarray(fit.random_effects_cov[shopper])[0, 0])
        half = _Z * math.sqrt(max(variance, 0.0))
        value = float(np.asarray(effect)[0])
        effects.append(Effect(str(shopper), int(per_shopper[shopper]), value, value - half, value + half))
    shopper_variance = float(np.asarray(fit.cov_re)[0, 0])
    return ShopperModel(groups, effects, math.sqrt(max(shopper_variance, 0.0)), math.sqrt(float(fit.scale)))


__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "CURVE_POINTS",
    "Counts",
    "CurvePoint",
    "Difference",
    "Effect",
    "MeanInterval",
    "Moments",
    "NpsCounts",
    "ShopperModel",
    "Survival",
    "holm_reject",
    "interval_pvalues",
    "kaplan_meier",
    "mean_difference",
    "mean_interval",
    "mean_intervals",
    "mean_tiers",
    "nps_and_variance",
    "nps_difference",
    "nps_interval",
    "nps_pvalues",
    "proportion_difference",
    "proportion_pvalues",
    "shopper_model",
    "survival_curve",
    "tiers",
    "welch_pvalues",
    "wilson",
    "wilsons",
]
