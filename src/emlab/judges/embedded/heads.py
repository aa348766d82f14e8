"""The learned heads of the embedded judge: a PCA projection and one small multi-task MLP over frozen MiniLM features.

Input per row: answer features ``[N_ANSWER]`` and question embedding ``[DIM]``, plus their
interaction (question * answer mean view), standardised and projected onto the top
``n_components`` principal directions of the training rows (cuts training cost ~7x on a
CPU). Outputs per row (``HEAD_OUTPUTS``): aligned
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
    """Standardise -> PCA projection (fixed) -> MLP trunk -> five outputs (see module docstring)."""

    def __init__(self, n_components: int = 256, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(N_INPUT))
        self.register_buffer("x_std", torch.ones(N_INPUT))
        self.register_buffer("proj", torch.zeros(N_INPUT, n_components))  # [N_INPUT, n_components], orthonormal columns
        self.trunk = nn.Sequential(
            nn.Dropout(0.1),
            nn.Linear(n_components, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
        )
        self.out = nn.Linear(hidden, len(HEAD_OUTPUTS))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise and project: ``[batch, N_INPUT]`` -> ``[batch, n_components]``."""
        return ((x - self.x_mean) / self.x_std) @ self.proj

    def fit_projection(self, x: torch.Tensor, max_rows: int = 4096, seed: int = 0) -> None:
        """Set standardisation from all of ``x`` ``[n, N_INPUT]`` and the PCA directions from a seeded subsample."""
        self.x_mean.copy_(x.mean(0))
        self.x_std.copy_(x.std(0).clamp(min=1e-4))
        gen = torch.Generator().manual_seed(seed)
        rows = torch.randperm(len(x), generator=gen)[:max_rows]
        z = (x[rows] - self.x_mean) / self.x_std
        torch.manual_seed(seed)  # svd_lowrank draws a random sketch
        _, _, v = torch.svd_lowrank(
            z, q=self.proj.shape[1], niter=2, M=z.mean(0, keepdim=True)
        )  # v: [N_INPUT, n_components]
        self.proj.copy_(v)

    def head(self, z: torch.Tensor) -> torch.Tensor:
        """Projected inputs ``[batch, n_components]`` -> raw outputs ``[batch, 5]``."""
        return self.out(self.trunk(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, N_INPUT]`` -> raw outputs ``[batch, 5]`` (sigmoid of each is taken in :meth:`predict`)."""
        return self.head(self.project(x))

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
