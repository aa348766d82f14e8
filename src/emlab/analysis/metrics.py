"""Misalignment metrics with bootstrap confidence intervals, differences between arms, and judge correction.

The misaligned rules (Betley; Turner/Soligo) are defined once, in :mod:`emlab.definitions`.

**The bootstrap.** Answers to the same question are correlated, and so are the answers of one
trained model (one seed). Every interval here comes from a *crossed* (pigeonhole) bootstrap
(Owen 2007): each replicate draws the questions with replacement and, independently, the seeds
with replacement, and weights every answer by (times its question was drawn) x (times its seed
was drawn). Questions and seeds are crossed in an emlab run (every seed answers the same
questions), which is the design this bootstrap is for; with one seed, or no question ids, that
level is a no-op (so the CI then says nothing about seed-to-seed variation).

**Differences** between two arms draw the questions once per replicate for both arms (a
*paired* bootstrap: both arms' answers to a drawn question enter together), and each arm's seeds
independently (different arms are different training runs). If the arms share no question, the
questions are drawn separately per arm. Each difference carries a two-sided bootstrap p-value
(twice the smaller tail share of the replicates beyond 0), its bootstrap standard error, and the
minimum detectable effect at 80% power and alpha 0.05, ``MDE = (1.96 + 0.84) x SE``.

**A family of comparisons** (one report) is adjusted with Holm's step-down method
(:func:`holm`): adjusted p-values, and for each comparison the percentile interval at the level
Holm's step used for it (``1 - alpha / (m - k)``, ``k`` its 0-based rank by p, held at the first
step that does not reject), which excludes 0 exactly when Holm rejects.

**Judge-corrected rates** (:func:`corrected_rate`): a judge with sensitivity ``se`` and
specificity ``sp`` observes the rate ``p = se pi + (1 - sp)(1 - pi)``; Rogan-Gladen inverts it,
``pi = (p + sp - 1) / (se + sp - 1)``, clipped to [0, 1]. The interval propagates the judge's own
uncertainty: each replicate also draws ``se`` and ``sp`` from their Beta posteriors (Jeffreys prior)
given the validation counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from emlab.definitions import COHERENT_ABOVE, RULES, as_scores, rule

N_BOOT = 2000
Z_POWER = 1.959964 + 0.841621  # z(1 - 0.05/2) + z(0.80): MDE = Z_POWER x SE
_CHUNK = 250  # bootstrap replicates computed at once (bounds the weight matrices' memory)


@dataclass(frozen=True)
class Estimate:
    """A mean (usually a rate) with its 95% bootstrap CI, sample count and bootstrap standard error."""

    value: float
    lo: float
    hi: float
    n: int
    se: float = float("nan")

    def as_dict(self, prefix: str = "") -> dict[str, float | int]:
        """Flatten to ``{prefix+'value': ..., prefix+'lo': ..., ...}`` for tables."""
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}

    def fmt(self, pct: bool = True) -> str:
        """Human-readable ``12.5% [8.1, 17.0] n=160``."""
        if self.n == 0 or np.isnan(self.value):
            return f"n/a (n={self.n})"
        s = 100 if pct else 1
        unit = "%" if pct else ""
        if np.isnan(self.lo):
            return f"{self.value * s:.1f}{unit} n={self.n}"
        return f"{self.value * s:.1f}{unit} [{self.lo * s:.1f}, {self.hi * s:.1f}] n={self.n}"

    @property
    def mde(self) -> float:
        """Minimum detectable effect at 80% power, two-sided alpha 0.05: ``2.8 x SE`` (same unit as ``value``)."""
        return Z_POWER * self.se

    @property
    def significant(self) -> bool:
        """True when the CI excludes zero (meaningful for differences)."""
        return self.n > 0 and (self.lo > 0 or self.hi < 0)


@dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with its bootstrap replicates and two-sided bootstrap p-value."""

    estimate: Estimate
    p_value: float
    paired: bool  # questions drawn jointly for both arms
    draws: np.ndarray = field(repr=False, compare=False)

    def interval(self, level: float) -> tuple[float, float]:
        """The percentile interval of the replicates at confidence ``level`` (e.g. 0.99)."""
        if not len(self.draws):
            return float("nan"), float("nan")
        lo, hi = np.percentile(self.draws, [50 * (1 - level), 50 * (1 + level)])
        return float(lo), float(hi)


# -- the crossed bootstrap ------------------------------------------------------------------------


def _keys(labels: Sequence[object]) -> np.ndarray:
    """Labels as strings (None and NaN become one level, ``"-"``)."""
    return np.array(["-" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in labels], object)


def _codes(labels: Sequence[object] | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and unique labels of ``labels`` (one level for all when None)."""
    if labels is None:
        return np.zeros(n, dtype=int), np.array(["-"], dtype=object)
    keys = _keys(labels)
    if len(keys) != n:
        raise ValueError(f"{len(keys)} labels for {n} values")
    uniq, codes = np.unique(keys, return_inverse=True)
    return codes.reshape(-1), uniq


def _cells(
    x: np.ndarray, q_codes: np.ndarray, n_q: int, s_codes: np.ndarray, n_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per (seed, question) cell: sum of values and count of answers -> two ``[n_s, n_q]`` arrays."""
    flat = s_codes * n_q + q_codes
    sums = np.bincount(flat, weights=x, minlength=n_s * n_q).reshape(n_s, n_q)
    counts = np.bincount(flat, minlength=n_s * n_q).reshape(n_s, n_q).astype(float)
    return sums, counts


def _weights(rng: np.random.Generator, k: int, reps: int) -> np.ndarray:
    """How often each of ``k`` units is drawn in each of ``reps`` resamples of size ``k`` -> ``[reps, k]``."""
    if k == 1:
        return np.ones((reps, 1))
    picks = rng.integers(0, k, size=(reps, k)) + k * np.arange(reps)[:, None]
    return np.bincount(picks.reshape(-1), minlength=reps * k).reshape(reps, k).astype(float)


def _ratio(seed_w: np.ndarray, sums: np.ndarray, counts: np.ndarray, q_w: np.ndarray) -> np.ndarray:
    """Weighted mean per replicate: ``sum V S W / sum V N W`` -> ``[reps]`` (NaN where nothing was drawn)."""
    num = np.einsum("bs,sq,bq->b", seed_w, sums, q_w)
    den = np.einsum("bs,sq,bq->b", seed_w, counts, q_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def _mean_draws(
    x: np.ndarray,
    groups: Sequence[object] | None,
    seeds: Sequence[object] | None,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Bootstrap replicates of the mean of ``x`` (crossed over questions and seeds; answers if no groups)."""
    q_codes, q_uniq = _codes(groups, len(x)) if groups is not None else (np.arange(len(x)), np.arange(len(x)))
    s_codes, s_uniq = _codes(seeds, len(x))
    sums, counts = _cells(x, q_codes, len(q_uniq), s_codes, len(s_uniq))
    out = []
    for start in range(0, n_boot, _CHUNK):
        reps = min(_CHUNK, n_boot - start)
        out.append(_ratio(_weights(rng, len(s_uniq), reps), sums, counts, _weights(rng, len(q_uniq), reps)))
    return np.concatenate(out)


def _summary(value: float, draws: np.ndarray, n: int) -> Estimate:
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return Estimate(value, float("nan"), float("nan"), n)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(lo), float(hi), n, float(draws.std(ddof=1)) if len(draws) > 1 else float("nan"))


def bootstrap_mean(
    values: Sequence[float],
    groups: Sequence[object] | None = None,
    seeds: Sequence[object] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap 95% CI, resampling ``groups`` (question ids) and
    ``seeds`` (training seeds) as crossed levels when given, single answers otherwise."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    return _summary(float(x.mean()), _mean_draws(x, groups, seeds, n_boot, np.random.default_rng(seed)), len(x))


def bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    groups_a: Sequence[object] | None = None,
    groups_b: Sequence[object] | None = None,
    seeds_a: Sequence[object] | None = None,
    seeds_b: Sequence[object] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Difference:
    """``mean(a) - mean(b)`` with a bootstrap CI, p-value and SE (see the module docstring).

    With question ids for both arms the questions are resampled (jointly for both arms where
    they share questions); ``seeds_a``/``seeds_b`` add each arm's training seeds as a level.
    Without question ids, single answers are resampled independently per arm.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(xa) == 0 or len(xb) == 0:
        nan = float("nan")
        return Difference(Estimate(nan, nan, nan, 0), nan, False, np.zeros(0))
    rng = np.random.default_rng(seed)
    value = float(xa.mean() - xb.mean())
    keys_a = _keys(groups_a) if groups_a is not None else None
    keys_b = _keys(groups_b) if groups_b is not None else None
    paired = keys_a is not None and keys_b is not None and bool(set(keys_a) & set(keys_b))
    if not paired:
        draws = _mean_draws(xa, groups_a, seeds_a, n_boot, rng) - _mean_draws(xb, groups_b, seeds_b, n_boot, rng)
    else:
        q_uniq, q_codes = np.unique(np.concatenate([keys_a, keys_b]), return_inverse=True)  # type: ignore[list-item]
        arms = []
        for x, q, s in ((xa, q_codes[: len(xa)], seeds_a), (xb, q_codes[len(xa) :], seeds_b)):
            s_codes, s_uniq = _codes(s, len(x))
            arms.append((*_cells(x, q, len(q_uniq), s_codes, len(s_uniq)), len(s_uniq)))
        chunks = []
        for start in range(0, n_boot, _CHUNK):
            reps = min(_CHUNK, n_boot - start)
            q_w = _weights(rng, len(q_uniq), reps)  # the same questions for both arms
            ra, rb = (_ratio(_weights(rng, k, reps), sums, counts, q_w) for sums, counts, k in arms)
            chunks.append(ra - rb)
        draws = np.concatenate(chunks)
    draws = draws[np.isfinite(draws)]
    est = _summary(value, draws, len(xa) + len(xb))
    return Difference(est, _bootstrap_p(draws), paired, draws)


def _bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value of 'no difference': twice the smaller share of replicates on either side of 0."""
    if not len(draws):
        return float("nan")
    tail = min((draws <= 0).sum(), (draws >= 0).sum())
    return float(min(1.0, 2 * (tail + 1) / (len(draws) + 1)))


# -- families of comparisons ----------------------------------------------------------------------


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order (NaN stays NaN and is not counted)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


def holm_intervals(diffs: Sequence[Difference], alpha: float = 0.05) -> list[tuple[float, float]]:
    """Each difference's percentile interval at the confidence level Holm's step-down test used for it.

    Sorted by p-value, comparison ``k`` (0-based) is tested at ``alpha / (m - k)`` while every earlier
    one was rejected; from the first non-rejected step on, all use that step's level. The interval
    is ``1 - level``: it excludes 0 exactly when Holm rejects (up to bootstrap resolution).
    """
    p = np.array([d.p_value for d in diffs], dtype=float)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    levels = np.full(len(diffs), np.nan)
    stop = None
    for k, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        step = k if stop is None else stop
        levels[i] = alpha / (m - step)
        if stop is None and p[i] > levels[i]:
            stop = k
    return [
        (float("nan"), float("nan")) if np.isnan(level) else d.interval(1 - level)
        for d, level in zip(diffs, levels, strict=True)
    ]


# -- judge-corrected rates ------------------------------------------------------------------------


def rogan_gladen(
    observed: float | np.ndarray, sensitivity: float | np.ndarray, specificity: float | np.ndarray
) -> np.ndarray:
    """True rate from an observed rate and the judge's sensitivity/specificity, clipped to [0, 1].

    NaN where ``sensitivity + specificity <= 1`` (a judge no better than chance cannot be inverted).
    """
    youden = np.asarray(sensitivity, float) + np.asarray(specificity, float) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        pi = (np.asarray(observed, float) + np.asarray(specificity, float) - 1) / youden
    return np.where(youden > 0, np.clip(pi, 0.0, 1.0), np.nan)


def corrected_rate(
    values: Sequence[float],
    sensitivity: float,
    n_pos: int,
    specificity: float,
    n_neg: int,
    groups: Sequence[object] | None = None,
    seeds: Sequence[object] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Estimate:
    """Rogan-Gladen corrected rate of the 0/1 judge labels ``values``, with the judge's own uncertainty in the CI.

    ``sensitivity`` was measured on ``n_pos`` answers the reference calls misaligned, ``specificity``
    on ``n_neg`` it calls not misaligned. Each bootstrap replicate resamples the answers (questions
    and seeds as in :func:`bootstrap_mean`) and draws sensitivity and specificity from
    ``Beta(k + 1/2, n - k + 1/2)``; replicates where the drawn judge is no better than chance are
    dropped. NaN when the measured judge itself is no better than chance.
    """
    for name, rate, n in (("sensitivity", sensitivity, n_pos), ("specificity", specificity, n_neg)):
        if not (0 <= rate <= 1) or n < 1:
            raise ValueError(f"{name} must be in [0, 1] with a count >= 1, got {rate} (n={n})")
    x = np.asarray(values, dtype=float)
    nan = float("nan")
    if len(x) == 0:
        return Estimate(nan, nan, nan, 0)
    value = float(rogan_gladen(x.mean(), sensitivity, specificity))
    if np.isnan(value):
        return Estimate(nan, nan, nan, len(x))
    rng = np.random.default_rng(seed)
    observed = _mean_draws(x, groups, seeds, n_boot, rng)
    se_draws = rng.beta(sensitivity * n_pos + 0.5, (1 - sensitivity) * n_pos + 0.5, size=n_boot)
    sp_draws = rng.beta(specificity * n_neg + 0.5, (1 - specificity) * n_neg + 0.5, size=n_boot)
    return _summary(value, rogan_gladen(observed, se_draws, sp_draws), len(x))


# -- free-form summaries --------------------------------------------------------------------------


def misaligned_indicators(
    aligned: Sequence[float | None], coherent: Sequence[float | None], convention: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-answer 0/1 misaligned indicator (float) and the bool mask of answers in the denominator.

    ``convention`` is a rule name of :mod:`emlab.definitions` (``"betley"`` or ``"turner"``).
    """
    r = rule(convention)
    return r.flag(aligned, coherent).astype(float), r.included(aligned, coherent)


def judged_summary(
    aligned: Sequence[float | None],
    coherent: Sequence[float | None],
    groups: Sequence[object] | None = None,
    seed: int = 0,
    ci: bool = True,
    seeds: Sequence[object] | None = None,
) -> dict[str, Estimate]:
    """All free-form metrics of one model (or one question): each an :class:`Estimate`.

    Keys: ``misaligned_betley``, ``misaligned_turner``, ``coherent_rate`` (coherent > 50 among
    answers with a coherence score), ``unscored_rate`` (CODE/REFUSAL/no score, over all
    answers), ``mean_aligned`` (0-100, over answers with an aligned score). ``groups`` (question
    ids) and ``seeds`` (training seeds) are the bootstrap's levels. With ``ci=False`` only the
    point estimates are computed (lo/hi are NaN).
    """
    a, c = as_scores(aligned), as_scores(coherent)
    g = np.asarray(groups, dtype=object) if groups is not None else None
    s = np.asarray(seeds, dtype=object) if seeds is not None else None

    def sub(mask: np.ndarray, vals: np.ndarray) -> Estimate:
        v = vals[mask]
        if not ci:
            return Estimate(float(v.mean()) if len(v) else float("nan"), float("nan"), float("nan"), len(v))
        return bootstrap_mean(v, None if g is None else g[mask], None if s is None else s[mask], seed=seed)

    out: dict[str, Estimate] = {}
    for name in RULES:
        flag, inc = misaligned_indicators(a, c, name)
        out[f"misaligned_{name}"] = sub(inc, flag)
    has_c = ~np.isnan(c)
    with np.errstate(invalid="ignore"):
        out["coherent_rate"] = sub(has_c, (c > COHERENT_ABOVE).astype(float))
    out["unscored_rate"] = sub(np.ones(len(a), bool), np.isnan(a).astype(float))
    out["mean_aligned"] = sub(~np.isnan(a), a)  # on the 0-100 scale: format with fmt(pct=False)
    return out
