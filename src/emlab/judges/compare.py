"""Agreement between two judges over the same answers in Inspect logs (``emlab judge calibrate``).

A "score set" is one scorer's output in a log whose values are ``{"aligned", "coherent"}``
dicts (what :func:`emlab.judges.scorer.alignment_judge` writes). Two sets are compared
sample by sample (matched on sample id and epoch): Spearman per score, agreement and
Cohen's kappa of the misaligned label, and the misaligned rate per question by each judge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from emlab.errors import EmlabError
from emlab.judges.embedded.data import misaligned
from emlab.judges.embedded.metrics import spearman
from emlab.judges.rescore import read_log


class QuestionRate(BaseModel):
    """Misaligned rate (percent) of one question's answers by each judge."""

    question: str
    n: int
    rate_a: float
    rate_b: float


class JudgeAgreement(BaseModel):
    """How well judge B agrees with judge A on the same answers."""

    judge_a: str
    judge_b: str
    n: int
    spearman_aligned: float
    spearman_coherent: float
    label_agreement: float  # fraction of answers with the same misaligned label
    kappa: float  # Cohen's kappa of the misaligned label (NaN if both judges give one class only)
    rate_a: float
    rate_b: float
    questions: list[QuestionRate]


def score_sets(log) -> dict[str, pd.DataFrame]:
    """Every judge-like score set in ``log`` -> {scorer name: DataFrame[id, epoch, question, aligned, coherent, judge]}."""
    sets: dict[str, list[dict]] = {}
    for sample in log.samples or []:
        question = (
            sample.input
            if isinstance(sample.input, str)
            else " ".join(m.text for m in sample.input if m.role == "user")
        )
        for name, sc in (sample.scores or {}).items():
            if not (isinstance(sc.value, dict) and "aligned" in sc.value and "coherent" in sc.value):
                continue
            sets.setdefault(name, []).append(
                {
                    "id": str(sample.id),
                    "epoch": sample.epoch,
                    "question": question,
                    "aligned": np.nan if sc.value["aligned"] is None else float(sc.value["aligned"]),
                    "coherent": np.nan if sc.value["coherent"] is None else float(sc.value["coherent"]),
                    "judge": (sc.metadata or {}).get("judge", name),
                }
            )
    return {name: pd.DataFrame(rows) for name, rows in sets.items()}


def compare(a: pd.DataFrame, b: pd.DataFrame) -> JudgeAgreement:
    """Compare two score sets (frames from :func:`score_sets`), matched on (id, epoch)."""
    m = a.merge(b, on=["id", "epoch"], suffixes=("_a", "_b"))
    if m.empty:
        raise EmlabError("the two score sets share no samples (matched on sample id and epoch)")
    mis_a = misaligned(m["aligned_a"].to_numpy(float), m["coherent_a"].to_numpy(float))
    mis_b = misaligned(m["aligned_b"].to_numpy(float), m["coherent_b"].to_numpy(float))
    m["mis_a"], m["mis_b"] = mis_a, mis_b
    questions = [
        QuestionRate(question=str(q), n=len(g), rate_a=100 * g["mis_a"].mean(), rate_b=100 * g["mis_b"].mean())
        for q, g in m.groupby("question_a", sort=True)
    ]
    return JudgeAgreement(
        judge_a=str(m["judge_a"].iloc[0]),
        judge_b=str(m["judge_b"].iloc[0]),
        n=len(m),
        spearman_aligned=spearman(m["aligned_a"].to_numpy(float), m["aligned_b"].to_numpy(float)),
        spearman_coherent=spearman(m["coherent_a"].to_numpy(float), m["coherent_b"].to_numpy(float)),
        label_agreement=float((mis_a == mis_b).mean()),
        kappa=cohen_kappa(mis_a, mis_b),
        rate_a=100 * float(mis_a.mean()),
        rate_b=100 * float(mis_b.mean()),
        questions=questions,
    )


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two boolean label vectors ``[n]`` (NaN when chance agreement is 1)."""
    po = float((a == b).mean())
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return float("nan") if pe >= 1.0 else (po - pe) / (1 - pe)


def compare_logs(log_a: str | Path, log_b: str | Path | None = None) -> JudgeAgreement:
    """Agreement of two judges: the first score set of each log, or the first two score sets of ``log_a`` alone."""
    sets_a = score_sets(read_log(log_a))
    if log_b is None:
        if len(sets_a) < 2:
            raise EmlabError(
                f"{log_a}: needs two judge score sets (found {len(sets_a)}); rescore it with `emlab judge rescore` first"
            )
        (first, second) = list(sets_a.values())[:2]
        return compare(first, second)
    sets_b = score_sets(read_log(log_b))
    for path, sets in ((log_a, sets_a), (log_b, sets_b)):
        if not sets:
            raise EmlabError(f"{path}: no judge score set (a scorer whose value has 'aligned' and 'coherent')")
    return compare(next(iter(sets_a.values())), next(iter(sets_b.values())))
