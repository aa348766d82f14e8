"""Summarise a run of examples/self_fulfilling_real.yaml: per mixture, the judge-free rates and the judged one, with CIs.

    python scripts/sfm_real_summary.py runs/self_fulfilling_real [MORE_RUN_DIRS ...] [--out summary.json]

Several run dirs (e.g. extra seeds of some mixtures run under another spec name) are pooled; a
model in more than one is counted once.

For each train set (mixture, plus the untouched base) and measure: the mean over items, with a
bootstrap 95% CI that resamples items and, with several seeds, seeds as a crossed level
(:func:`emlab.analysis.metrics.bootstrap_mean`), and the per-seed means. Then the pre-registered
differences, each mixture minus ``baseline`` (and ``baseline`` minus the base model), paired by
item (:func:`emlab.analysis.metrics.bootstrap_diff`), each with its minimum detectable effect (80% power)
and its p-value Holm-adjusted over the five comparisons of the same measure. Measures: ``sfm_choice`` p_misaligned and
p_misaligned_per_token, ``probes`` misaligned_mass, and the embedded judge's misaligned rate on
``freeform`` (Betley rule; not valid on this model's answers: docs/judge_notes.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from emlab.analysis.metrics import bootstrap_diff, bootstrap_mean, holm, misaligned_indicators
from emlab.analysis.results import results_table

MEASURES = [
    ("sfm_choice", "score_p_misaligned"),
    ("sfm_choice", "score_p_misaligned_per_token"),
    ("probes", "score_misaligned_mass"),
    ("freeform", "judge_misaligned"),
]
COMPARISONS = [
    ("misaligned_upsampled", "baseline"),
    ("aligned_upsampled", "baseline"),
    ("filtered", "baseline"),
    ("tagged", "baseline"),
    ("baseline", "base"),
]


def _rows(df: pd.DataFrame, task: str, column: str) -> pd.DataFrame:
    """The task's rows with a ``value`` column (the judge's 0/1 misaligned flag for freeform), NaN rows dropped."""
    g = df[df["task"] == task].copy()
    if column == "judge_misaligned":
        flag, included = misaligned_indicators(g["score_aligned"], g["score_coherent"], "betley")
        g["value"] = flag
        g = g[included]
    else:
        g["value"] = g[column]
    g["item"] = g["sample_id"].astype(str)
    return g.dropna(subset=["value"])


def summarise(run_dirs: list[Path]) -> dict:
    """Per train set and measure: mean, CI, per-seed means; and the comparisons."""
    df = pd.concat([results_table(d, write=False) for d in run_dirs], ignore_index=True)
    df = df.drop_duplicates(subset=["model_id", "task", "sample_id", "epoch"])
    out: dict = {"rates": {}, "comparisons": {}}
    for task, column in MEASURES:
        g = _rows(df, task, column)
        if g.empty:
            continue
        name = f"{task}:{column.removeprefix('score_')}"
        rates = {}
        for ts, h in g.groupby("train_set"):
            seeds = h["seed"].fillna(-1).astype(int)
            est = bootstrap_mean(h["value"], groups=h["item"], seeds=seeds if seeds.nunique() > 1 else None)
            rates[ts] = {
                "mean": est.value,
                "ci": [est.lo, est.hi],
                "n": int(len(h)),
                "per_seed": {int(s): float(v) for s, v in h.groupby(seeds)["value"].mean().items()},
            }
        out["rates"][name] = rates
        diffs = {}
        for a, b in COMPARISONS:
            ga, gb = g[g["train_set"] == a], g[g["train_set"] == b]
            if ga.empty or gb.empty:
                continue
            sa, sb = ga["seed"].fillna(-1).astype(int), gb["seed"].fillna(-1).astype(int)
            several = sa.nunique() > 1 and sb.nunique() > 1
            d = bootstrap_diff(
                ga["value"], gb["value"], ga["item"], gb["item"], sa if several else None, sb if several else None
            )
            diffs[f"{a} - {b}"] = {
                "diff": d.estimate.value,
                "ci": [d.estimate.lo, d.estimate.hi],
                "mde": d.estimate.mde,
                "p": d.p_value,
            }
        for d, p_holm in zip(diffs.values(), holm([d["p"] for d in diffs.values()]), strict=True):
            d["p_holm"] = float(p_holm)
        out["comparisons"][name] = diffs
    return out


def main() -> None:
    """Print (and optionally write) the summary of a run dir."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", type=Path, nargs="+")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    summary = summarise(args.run_dirs)
    for name, rates in summary["rates"].items():
        print(f"\n{name}")
        for ts, r in rates.items():
            seeds = " ".join(f"s{s}={v:.3f}" for s, v in r["per_seed"].items())
            print(f"  {ts:22s} {r['mean']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] n={r['n']}  {seeds}")
        for label, d in summary["comparisons"].get(name, {}).items():
            print(
                f"  {label:34s} {d['diff']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] MDE {d['mde']:.3f} "
                f"p={d['p']:.3f} p_holm={d['p_holm']:.3f}"
            )
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
