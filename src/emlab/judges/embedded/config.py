"""Settings and stored metadata of the embedded judge: how it is trained, how its guard is fitted, its calibration.

Everything here is a pydantic model that lands in ``heads.json`` (``config``, ``guard``,
``calibration``) and is read back by :func:`emlab.judges.embedded.judge.EmbeddedJudge.load`.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

GUARD_VERSION = "guard-v2"


class GuardConfig(BaseModel):
    """How the guard is fitted."""

    n_train: int = 1536  # real answers; each is used clean and with one design template spliced in
    n_check: int = 1024  # further real answers, clean, for the false-positive rate that sets the threshold
    answer_fpr: float = (
        0.02  # share of clean real answers the guard may flag (they lose their most judge-like segments)
    )
    segment_threshold: float = 0.2  # in a flagged answer, every segment above this probability is removed
    c: float = 10.0  # inverse L2 strength of the logistic regression
    seed: int = 0


class GuardMeta(BaseModel):
    """The guard's thresholds and what was measured when it was fitted (stored in ``heads.json``)."""

    version: str = GUARD_VERSION
    answer_threshold: float  # an answer is flagged when one of its segments scores above this
    segment_threshold: float
    stats: dict[str, float]  # design recall (leave-template-out), clean-answer flag rate, sizes


class JudgeTrainConfig(BaseModel):
    """Hyper-parameters of one heads fit."""

    n_components: int = 256
    hidden: int = 256
    dropout: float = 0.2
    epochs: int = 8
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    seed: int = 0
    n_folds: int = 5
    no_score_threshold: float = 0.5
    guard: GuardConfig = GuardConfig()


class Calibration(BaseModel):
    """Monotone piecewise-linear maps from raw head scores to calibrated 0-100 scores (knots x -> y)."""

    aligned_x: list[float]
    aligned_y: list[float]
    coherent_x: list[float]
    coherent_y: list[float]

    def apply(self, aligned: np.ndarray, coherent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map raw aligned/coherent ``[n]`` to calibrated scores ``[n]``."""
        return np.interp(aligned, self.aligned_x, self.aligned_y), np.interp(coherent, self.coherent_x, self.coherent_y)


__all__ = ["GUARD_VERSION", "Calibration", "GuardConfig", "GuardMeta", "JudgeTrainConfig"]
