"""Training seeds as the unit of analysis: effects between conditions with CIs that resample seeds.

Each seed of an experiment is one independent replicate of the whole pipeline (corpus draw,
initialisation, data order), so the answers of one seed's model are not independent of each
other: pooling them overstates the evidence. Here every seed is first reduced to one number
(the mean of its model's scores), and the statistics run over those numbers:

* :func:`seed_means` — one value per seed from a tidy results table;
* :func:`compare_seeds` — ``mean(a) - mean(b)`` with a bootstrap CI that resamples seeds
  (paired: the per-seed differences, when both conditions share their seeds, which share
  everything but the condition), and the minimum detectable effect at that number of seeds;
* :func:`minimum_detectable_effect` / :func:`seeds_for_effect` — the exact power of the
  matching t-test (noncentral t), from the between-seed standard deviation; the same t-test's
  two-sided p-value is :attr:`SeedEffect.p_value` (for Holm's adjustment over a family of
  comparisons: :func:`emlab.analysis.metrics.holm`).

The CI is the *expanded* percentile bootstrap (Hesterberg 2015, "What teachers should know
about the bootstrap"): the plain percentile interval is too narrow with few units (it
behaves like a z-interval with an SD divided by n instead of n - 1), so its quantiles are
widened to those a t-interval would need: ``alpha' = 2 Phi(-sqrt(n / (n - 1)) t_{1-alpha/2, n-1})``.
A seed bootstrap can never reach beyond the seeds' own range, so its coverage is capped at
``1 - 2 * 0.5**n`` (87.5% with 4 seeds, 97% with 6): fewer than :data:`MIN_SEEDS_FOR_CI`
seeds give no CI, and the MDE is reported beside every CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from emlab.errors import EmlabError

N_BOOT = 10_000
MIN_SEEDS_FOR_CI = 5  # below this a seed bootstrap cannot cover 95% (see the module docstring)


def _expanded_quantiles(n: int, alpha: float) -> tuple[float, float]:
    """The bootstrap quantiles of the expanded percentile interval for ``n`` units (see the module docstring)."""
    a = 2 * stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha / 2, n - 1))
    return a / 2, 1 - a / 2


def _bootstrap_ci(draws: np.ndarray, n: int, alpha: float) -> tuple[float, float]:
    """The expanded percentile CI of bootstrap ``draws`` of a mean over ``n`` units; NaN below :data:`MIN_SEEDS_FOR_CI`."""
    if n < MIN_SEEDS_FOR_CI:
        return float("nan"), float("nan")
    lo, hi = np.quantile(draws, _expanded_quantiles(n, alpha))
    return float(lo), float(hi)


def seed_means(df: pd.DataFrame, value: str, seed: str = "seed") -> dict[int, float]:
    """``{seed: mean of value}`` over the rows of ``df`` (already restricted to one condition)."""
    if value not in df:
        raise EmlabError(f"results have no column '{value}'")
    means = df.dropna(subset=[value]).groupby(seed)[value].mean()
    return {int(k): float(v) for k, v in means.items()}


def _t_power(effect: float, se_unit: float, dof: int, alpha: float) -> float:
    """Power of a two-sided t-test with ``dof`` degrees of freedom when the true effect is ``effect``
    and the standard error is ``se_unit`` (noncentral t)."""
    crit = stats.t.ppf(1 - alpha / 2, dof)
    ncp = effect / se_unit
    power = float(stats.nct.sf(crit, dof, ncp) + stats.nct.cdf(-crit, dof, ncp))
    return power if np.isfinite(power) else 1.0  # scipy's nct gives NaN only far in the tail (ncp >> crit)


def _design(sd: float, n_a: int, n_b: int | None) -> tuple[float, int]:
    """(standard error per unit SD, degrees of freedom): paired when ``n_b`` is None, else two groups."""
    if n_b is None:
        return sd / np.sqrt(n_a), n_a - 1
    return sd * np.sqrt(1 / n_a + 1 / n_b), n_a + n_b - 2


def minimum_detectable_effect(
    sd: float,
    n_seeds: int,
    *,
    paired: bool = True,
    n_seeds_b: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """The smallest true difference a two-sided t-test over ``n_seeds`` seeds detects with ``power``.

    ``sd`` is the between-seed standard deviation: of the per-seed differences when ``paired``,
    else of one condition's per-seed values (pooled), with ``n_seeds`` seeds in the first
    condition and ``n_seeds_b`` (default: as many) in the second. The result is in the unit
    of ``sd``; NaN with fewer than 2 seeds or an unknown ``sd``.
    """
    n_b = None if paired else (n_seeds_b or n_seeds)
    if n_seeds < 2 or (n_b is not None and n_b < 2) or not np.isfinite(sd):
        return float("nan")
    if sd == 0:
        return 0.0
    se, dof = _design(sd, n_seeds, n_b)
    # the power rises monotonically with the effect: bracket the root around the normal-theory
    # guess (t quantiles in place of z), then solve exactly
    guess = (stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * se
    hi = guess * 1.5
    while _t_power(hi, se, dof, alpha) < power:
        hi *= 2
    return float(optimize.brentq(lambda d: _t_power(d, se, dof, alpha) - power, 0.0, hi, xtol=1e-12 * hi))


def seeds_for_effect(
    sd: float,
    effect: float,
    *,
    paired: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    max_seeds: int = 10_000,
) -> int | None:
    """The fewest seeds (per condition) whose :func:`minimum_detectable_effect` is at most ``effect``.

    None when ``sd`` is unknown or more than ``max_seeds`` would be needed.
    """
    if not np.isfinite(sd) or effect <= 0:
        return None
    n = 2
    while n <= max_seeds:
        if minimum_detectable_effect(sd, n, paired=paired, alpha=alpha, power=power) <= effect:
            return n
        n += 1
    return None


@dataclass(frozen=True)
class SeedEffect:
    """``mean(a) - mean(b)`` over seeds, its bootstrap CI, and what this many seeds can detect.

    ``sd`` is the between-seed SD the MDE comes from (of the per-seed differences when
    ``paired``, else the pooled SD of the two conditions' per-seed values).
    """

    effect: float
    lo: float
    hi: float
    n_seeds: int
    sd: float
    mde: float
    paired: bool
    mean_a: float
    mean_b: float
    p_value: float  # two-sided t-test over seeds (paired / pooled, as the MDE); NaN with < 2 seeds per arm
    per_seed: dict[int, float] = field(default_factory=dict)  # paired: a - b per seed; else empty

    @property
    def significant(self) -> bool:
        """Whether the 95% CI excludes zero."""
        return bool(self.lo > 0 or self.hi < 0)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (with ``significant``)."""
        return {**asdict(self), "significant": self.significant}

    def fmt(self, scale: float = 100.0, unit: str = " pts") -> str:
        """``+12.3 pts [4.1, 20.2], 10 seeds, MDE 9.8 pts`` (``scale`` 100: probabilities as points)."""
        if np.isnan(self.effect):
            return f"n/a ({self.n_seeds} seeds)"
        mde = "n/a" if np.isnan(self.mde) else f"{self.mde * scale:.1f}{unit}"
        return (
            f"{self.effect * scale:+.1f}{unit} [{self.lo * scale:+.1f}, {self.hi * scale:+.1f}], "
            f"{self.n_seeds} seeds, MDE {mde}"
        )


def compare_seeds(
    a: Mapping[int, float],
    b: Mapping[int, float],
    *,
    paired: bool = True,
    n_boot: int = N_BOOT,
    alpha: float = 0.05,
    power: float = 0.8,
    rng_seed: int = 0,
) -> SeedEffect:
    """Compare two conditions given one value per seed each (``{seed: value}``, e.g. from :func:`seed_means`).

    ``paired``: the conditions share their seeds (seed ``s`` of both had the same corpus
    draw, initialisation and data order); the effect is the mean of the per-seed differences
    over the shared seeds, and the bootstrap resamples those seeds. Otherwise each
    condition's seeds are resampled on their own. The CI is the expanded percentile
    bootstrap at ``1 - alpha`` (NaN with fewer than :data:`MIN_SEEDS_FOR_CI` seeds); the MDE is that of the matching
    t-test at ``power``, and ``p_value`` that t-test's (one-sample on the differences when paired, pooled
    two-sample otherwise).
    """
    if paired:
        shared = sorted(set(a) & set(b))
        if len(shared) != len(a) or len(shared) != len(b):
            raise EmlabError(
                f"paired comparison needs the same seeds in both conditions, got {sorted(a)} and {sorted(b)}"
            )
        diffs = np.array([a[s] - b[s] for s in shared])
        n = len(diffs)
        sd = float(diffs.std(ddof=1)) if n > 1 else float("nan")
        lo = hi = float("nan")
        if n > 1:
            idx = np.random.default_rng(rng_seed).integers(0, n, size=(n_boot, n))
            lo, hi = _bootstrap_ci(diffs[idx].mean(axis=1), n, alpha)
        return SeedEffect(
            effect=float(diffs.mean()) if n else float("nan"),
            lo=float(lo),
            hi=float(hi),
            n_seeds=n,
            sd=sd,
            mde=minimum_detectable_effect(sd, n, paired=True, alpha=alpha, power=power),
            paired=True,
            mean_a=float(np.mean([a[s] for s in shared])) if n else float("nan"),
            mean_b=float(np.mean([b[s] for s in shared])) if n else float("nan"),
            p_value=_t_test_p(diffs, None),
            per_seed={int(s): float(d) for s, d in zip(shared, diffs, strict=True)},
        )
    xa, xb = np.array(list(a.values()), dtype=float), np.array(list(b.values()), dtype=float)
    na, nb = len(xa), len(xb)
    if na == 0 or nb == 0:
        raise EmlabError("each condition needs at least one seed")
    sd = float("nan")
    lo = hi = float("nan")
    if na > 1 and nb > 1:
        sd = float(np.sqrt(((na - 1) * xa.var(ddof=1) + (nb - 1) * xb.var(ddof=1)) / (na + nb - 2)))
        rng = np.random.default_rng(rng_seed)
        draws = xa[rng.integers(0, na, size=(n_boot, na))].mean(axis=1) - xb[
            rng.integers(0, nb, size=(n_boot, nb))
        ].mean(axis=1)
        lo, hi = _bootstrap_ci(draws, min(na, nb), alpha)
    return SeedEffect(
        effect=float(xa.mean() - xb.mean()),
        lo=float(lo),
        hi=float(hi),
        n_seeds=min(na, nb),
        sd=sd,
        mde=minimum_detectable_effect(sd, na, paired=False, n_seeds_b=nb, alpha=alpha, power=power),
        paired=False,
        mean_a=float(xa.mean()),
        mean_b=float(xb.mean()),
        p_value=_t_test_p(xa, xb),
    )


def _t_test_p(a: np.ndarray, b: np.ndarray | None) -> float:
    """Two-sided p of the t-test the MDE assumes: one-sample on ``a`` (paired differences) or pooled ``a`` vs ``b``.

    NaN with fewer than 2 values in an arm; with no spread at all, 0 if the means differ and 1 if not.
    """
    if len(a) < 2 or (b is not None and len(b) < 2):
        return float("nan")
    spread = a.std() if b is None else max(a.std(), b.std())
    if spread == 0:
        return float(a.mean() == (0.0 if b is None else b.mean()))
    res = stats.ttest_1samp(a, 0.0) if b is None else stats.ttest_ind(a, b, equal_var=True)
    return float(res.pvalue)
