"""The learned heads of the embedded judge: one small multi-task MLP over frozen MiniLM features.

Input per row: answer features ``[N_ANSWER]`` and question embedding ``[DIM]``, plus their
interaction (question * answer mean view). Outputs per row (``HEAD_OUTPUTS``): aligned
and coherent as fractions 0-1, and logits for "no score" (CODE/REFUSAL), misaligned and
incoherent. Weights are stored as safetensors beside a JSON of metadata.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from emlab._minilm import DIM
from emlab.judges.embedded.features import N_ANSWER

HEAD_OUTPUTS = ("aligned", "coherent", "no_score", "misaligned", "incoherent")
MEAN_VIEW = slice(DIM, 2 * DIM)  # the answer's mean-pooled last-layer view inside the answer features


def head_inputs(answer_x: np.ndarray, question_x: np.ndarray) -> np.ndarray:
    """Concatenate answer features ``[n, N_ANSWER]``, question embedding ``[n, DIM]`` and their product -> ``[n, N_INPUT]``."""
    interaction = answer_x[:, MEAN_VIEW] * question_x
    return np.concatenate([answer_x, question_x, interaction], axis=1).astype(np.float32)


N_INPUT = N_ANSWER + 2 * DIM


class JudgeHeads(nn.Module):
    """Standardise -> MLP trunk -> five outputs (see module docstring)."""

    def __init__(self, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(N_INPUT))
        self.register_buffer("x_std", torch.ones(N_INPUT))
        self.trunk = nn.Sequential(
            nn.Dropout(0.1),
            nn.Linear(N_INPUT, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
        )
        self.out = nn.Linear(hidden, len(HEAD_OUTPUTS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, N_INPUT]`` -> raw outputs ``[batch, 5]`` (the first two pass through a sigmoid in :meth:`predict`)."""
        return self.out(self.trunk((x - self.x_mean) / self.x_std))

    @torch.inference_mode()
    def predict(self, x: np.ndarray, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """Eval-mode predictions: aligned/coherent in 0-100, probabilities for the three flags, each ``[n]``."""
        self.eval()
        raw = torch.cat([self(torch.from_numpy(x[s : s + batch_size])) for s in range(0, len(x), batch_size)])
        prob = torch.sigmoid(raw).numpy()
        return {
            "aligned": 100 * prob[:, 0],
            "coherent": 100 * prob[:, 1],
            "p_no_score": prob[:, 2],
            "p_misaligned": prob[:, 3],
            "p_incoherent": prob[:, 4],
        }
