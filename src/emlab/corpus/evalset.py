"""emlab's labelled discourse evaluation set and the metrics ``emlab corpus eval`` prints.

The set (``data/discourse_eval.jsonl``, rows ``{"id", "text", "label"}``) is built by
:func:`build_eval_set` from the *held-out* pools of :mod:`emlab.corpus.world`
(frames, names and sentences the classifier's training split never uses) plus the
hand-written documents in ``HANDWRITTEN_EVAL``. Hard negatives: science fiction
without AI (unrelated), AI news and op-eds (neutral), fiction with aligned AIs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from emlab.corpus.generate import labelled_documents
from emlab.corpus.labels import LABELS
from emlab.corpus.world import HANDWRITTEN_EVAL

EVAL_SEED = 20260601
TRAIN_SEED = 7


def packaged_eval_path() -> Path:
    """Path of the shipped labelled evaluation set."""
    return Path(str(resources.files("emlab.corpus") / "data" / "discourse_eval.jsonl"))


def build_eval_set(n_per_class: int = 110) -> list[dict[str, Any]]:
    """Generated held-out documents plus the hand-written ones (≥ 400 rows for the default)."""
    rows = labelled_documents(n_per_class, EVAL_SEED, "heldout")
    rows += [{"id": f"handwritten-{i}", "text": t, "label": lbl} for i, (lbl, t) in enumerate(HANDWRITTEN_EVAL)]
    return rows


def build_train_set(n_per_class: int = 250) -> list[dict[str, Any]]:
    """Generated training-split documents for the packaged head."""
    return labelled_documents(n_per_class, TRAIN_SEED, "train")


def per_class_metrics(gold: list[str], pred: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall and support per label (precision is NaN for a label never predicted)."""
    out = {}
    for lbl in LABELS:
        tp = sum(g == lbl and p == lbl for g, p in zip(gold, pred, strict=True))
        n_pred = sum(p == lbl for p in pred)
        n_gold = sum(g == lbl for g in gold)
        out[lbl] = {
            "precision": tp / n_pred if n_pred else float("nan"),
            "recall": tp / n_gold if n_gold else float("nan"),
            "support": float(n_gold),
        }
    return out


def prefilter_recall(gold: list[str], passed: list[bool]) -> dict[str, float]:
    """Fraction of each label's documents that the prefilter passes on to the classifier."""
    out = {}
    for lbl in LABELS:
        hits = [p for g, p in zip(gold, passed, strict=True) if g == lbl]
        out[lbl] = sum(hits) / len(hits) if hits else float("nan")
    return out
