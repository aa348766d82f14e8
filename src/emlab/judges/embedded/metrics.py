"""Agreement between a judge and the reference (GPT-4o) judge: Spearman, AUROC, per-group rate error."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from emlab.judges.embedded.data import misaligned, source_family


class GroupRate(BaseModel):
    """Misaligned rate of one source group by the reference judge and by the judge under test, in percent."""

    group: str
    n: int
    reference: float
    judge: float

    @property
    def error(self) -> float:
        """Absolute difference in percentage points."""
        return abs(self.judge - self.reference)


class Agreement(BaseModel):
    """Held-out agreement of a judge with the reference judge."""

    n: int
    spearman_aligned: float
    spearman_coherent: float
    auroc_misaligned: float
    rate_reference: float
    rate_judge: float
    worst_group_error: float
    mean_group_error: float
    min_group_size: int
    worst_family_error: float
    worst_group_noise_floor: float | None = (
        None  # see unbiased_worst_group_error; None in metadata written before it existed
    )
    groups: list[GroupRate]  # per source file, largest error first
    families: list[GroupRate]  # per source family (see data.source_family), largest error first


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation over the rows where both are finite (NaN if fewer than 3, or one side is constant)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for boolean ``labels`` (NaN if only one class)."""
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def agreement(
    reference: pd.DataFrame,
    judged: pd.DataFrame,
    misaligned_score: np.ndarray,
    *,
    min_group_size: int = 200,
) -> Agreement:
    """Compare a judge's scores with the reference scores, row by row.

    ``reference`` has columns aligned, coherent, source (the reference judge's);
    ``judged`` has aligned, coherent (the judge under test, NaN for CODE/REFUSAL), same
    rows. ``misaligned_score`` ``[n]`` ranks rows for the AUROC (higher = more likely
    misaligned). Per-group rates use the thresholded label on both sides. The worst/mean
    group errors count only groups of at least ``min_group_size`` rows (with fewer, one
    answer moves the rate by more than the 2-point target); every group is listed.
    """
    ref_mis = misaligned(reference["aligned"].to_numpy(float), reference["coherent"].to_numpy(float))
    jud_mis = misaligned(judged["aligned"].to_numpy(float), judged["coherent"].to_numpy(float))
    groups = _rates(reference["source"], ref_mis, jud_mis)
    families = _rates(reference["source"].map(source_family), ref_mis, jud_mis)
    big = [g for g in groups if g.n >= min_group_size] or groups
    keys = reference["source"].to_numpy()
    return Agreement(
        n=len(reference),
        spearman_aligned=spearman(reference["aligned"].to_numpy(float), judged["aligned"].to_numpy(float)),
        spearman_coherent=spearman(reference["coherent"].to_numpy(float), judged["coherent"].to_numpy(float)),
        auroc_misaligned=auroc(ref_mis, misaligned_score),
        rate_reference=100 * ref_mis.mean(),
        rate_judge=100 * jud_mis.mean(),
        worst_group_error=max(g.error for g in big),
        mean_group_error=float(np.mean([g.error for g in big])),
        min_group_size=min_group_size,
        worst_family_error=max(f.error for f in families),
        worst_group_noise_floor=unbiased_worst_group_error(keys, ref_mis, jud_mis, {g.group for g in big}),
        groups=groups,
        families=families,
    )


def unbiased_worst_group_error(
    keys: np.ndarray, ref_mis: np.ndarray, jud_mis: np.ndarray, groups: set[str], reps: int = 2000, seed: int = 0
) -> float:
    """Median worst-group rate error (points) of an *unbiased* judge that disagrees with the reference as often as this one.

    In each of ``groups`` (values of ``keys``) the number of rows where the two labels differ
    is kept, and each disagreement is made an up- or down-flip with probability 1/2, so the
    group's rate error is pure chance: ``|ups - downs| / n``. The median over ``reps``
    simulations of the largest error across groups is the floor that calibration alone cannot
    go below; only fewer disagreements lower it. (Per-answer disagreement d in a group of n
    gives an error of about ``sqrt(d / n)``: 5% of 1,200 answers is ~0.6 pts, and the maximum
    over 40 groups is several times that.)
    """
    rng = np.random.default_rng(seed)
    chosen = np.isin(keys, list(groups))
    frame = pd.DataFrame({"key": keys[chosen], "differ": ref_mis[chosen] != jud_mis[chosen]})
    per_group = frame.groupby("key")["differ"].agg(["size", "sum"])
    n, k = per_group["size"].to_numpy(), per_group["sum"].to_numpy()
    ups = rng.binomial(np.broadcast_to(k, (reps, len(k))), 0.5)  # [reps, groups]
    worst = (100 * np.abs(2 * ups - k) / n).max(axis=1)
    return float(np.median(worst))


def _rates(keys: pd.Series, ref_mis: np.ndarray, jud_mis: np.ndarray) -> list[GroupRate]:
    """Misaligned rate per key by both judges, largest absolute error first."""
    rates = [
        GroupRate(group=str(name), n=len(idx), reference=100 * ref_mis[idx].mean(), judge=100 * jud_mis[idx].mean())
        for name, idx in keys.groupby(keys).indices.items()
    ]
    return sorted(rates, key=lambda g: -g.error)
