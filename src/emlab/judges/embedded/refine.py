"""Second stage of the embedded judge: final aligned / coherent scores from the heads' outputs plus fluency and relevance.

Why a second stage. The heads were fitted to GPT-4o's verdicts on answers of 0.5B-32B models.
Small models at temperature 1 write fluent-sounding nonsense, a distribution those answers hardly
contain, and the heads call most of it coherent. Three signals the heads lack separate it
(measured on reader-labelled answers of the embedded 135M model, see ``docs/judge_notes.md``):

- **fluency**: per-token log-probability under a word-bigram model of coherent English
  (:mod:`emlab.judges.embedded.fluency`) -- invented words and impossible word pairs;
- **relevance**: cosine between the answer's and the question's MiniLM embeddings, per answer
  and per segment -- answers that drift off the question;
- **consistency**: cosine between consecutive segments -- answers whose sentences do not follow.

The second stage also reads the lowest aligned score and highest misaligned probability over the
answer's chunks (see :func:`emlab.judges.embedded.features.answer_features`), so a misaligned
sentence counts wherever it sits in a long answer.

Model: a small MLP (``N_REFINE -> 32 -> 3``: aligned, coherent, misaligned logit) on standardised
inputs, fitted on reader-labelled small-model answers together with a sample of GPT-4o-judged
answers (so it stays valid on both), then quantile-calibrated like the heads. Shapes below:
``refine_inputs`` -> float32 ``[n, N_REFINE]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emlab._minilm import DIM
from emlab.judges.embedded.config import Calibration
from emlab.judges.embedded.features import TEXT_STATS, Segments
from emlab.judges.embedded.fluency import FLUENCY_STATS, BigramLM

HEAD_KEYS = ("aligned", "coherent", "p_no_score", "p_misaligned", "p_incoherent", "chunk_aligned", "chunk_p_misaligned")
RELEVANCE = ("answer_question_cos", "segment_question_cos_mean", "segment_question_cos_min", "segment_next_cos_mean")
KEPT_STATS = ("log_words", "unique_word_ratio", "top_trigram_share", "non_ascii_share", "code_keywords", "truncated")
REFINE_FEATURES = (*HEAD_KEYS, *RELEVANCE, *FLUENCY_STATS, *KEPT_STATS)
N_REFINE = len(REFINE_FEATURES)


def calibrated(refiner: Refiner, calibration: Calibration, x: np.ndarray) -> dict[str, np.ndarray]:
    """Calibrated aligned / coherent (0-100) and p_misaligned for inputs ``[n, N_REFINE]``, each ``[n]``."""
    pred = refiner.predict(x)
    aligned, coherent = calibration.apply(pred["aligned"], pred["coherent"])
    return {"aligned": aligned, "coherent": coherent, "p_misaligned": pred["p_misaligned"]}


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to unit length (zero rows stay zero)."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def refine_inputs(
    raw: dict[str, np.ndarray],
    answer_feats: np.ndarray,
    segments: Segments,
    question_emb: np.ndarray,
    answers: Sequence[str],
    lm: BigramLM,
) -> np.ndarray:
    """Second-stage inputs ``[n, N_REFINE]`` in the order of :data:`REFINE_FEATURES`.

    ``raw``: the heads' outputs (0-100 scores and probabilities, ``[n]`` each, with the chunk
    keys of :func:`emlab.judges.embedded.judge.combine_chunks`); ``answer_feats`` ``[n, N_ANSWER]``
    the first-window features; ``segments`` the answers' segment vectors; ``question_emb``
    ``[n, DIM]`` unit question embeddings.
    """
    n = len(answers)
    out = np.zeros((n, N_REFINE), dtype=np.float32)
    for k, key in enumerate(HEAD_KEYS):
        out[:, k] = raw[key] / (100.0 if key in ("aligned", "coherent", "chunk_aligned") else 1.0)
    mean_view = _unit(answer_feats[:, DIM : 2 * DIM])  # the answer's mean-pooled last-layer states
    q = _unit(question_emb)
    col = len(HEAD_KEYS)
    out[:, col] = (mean_view * q).sum(1)
    stats_at = [4 * DIM + TEXT_STATS.index(s) for s in KEPT_STATS]
    for i in range(n):
        vecs = segments[i][1]
        seg = _unit(vecs[:, :DIM]) if len(vecs) else mean_view[i : i + 1]
        to_q = seg @ q[i]
        nxt = (seg[1:] * seg[:-1]).sum(1) if len(seg) > 1 else np.ones(1)
        out[i, col + 1 : col + 4] = [to_q.mean(), to_q.min(), nxt.mean()]
        out[i, col + 4 : col + 4 + len(FLUENCY_STATS)] = lm.stats(answers[i])
        out[i, col + 4 + len(FLUENCY_STATS) :] = answer_feats[i, stats_at]
    return out


class Refiner:
    """Standardise -> Linear(N_REFINE, 32) -> GELU -> Linear(32, 3); outputs aligned, coherent (0-100) and P(misaligned)."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        # contiguous: safetensors writes a transposed view's buffer as is, which would scramble the weights
        self.params = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in params.items()}

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """``x`` ``[n, N_REFINE]`` -> aligned, coherent (0-100) and p_misaligned, each ``[n]``."""
        p = self.params
        z = (x - p["mean"]) / p["std"]
        h = z @ p["w1"] + p["b1"]
        h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h**3)))  # GELU (tanh form, as torch's)
        o = 1 / (1 + np.exp(-(h @ p["w2"] + p["b2"])))
        return {"aligned": 100 * o[:, 0], "coherent": 100 * o[:, 1], "p_misaligned": o[:, 2]}

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, weight: np.ndarray, *, epochs: int = 300, lr: float = 3e-3, seed: int = 0
    ) -> Refiner:
        """Fit on inputs ``[n, N_REFINE]``, targets ``[n, 3]`` (aligned/100 NaN where no score, coherent/100, misaligned 0/1)
        and row weights ``[n]``; full-batch AdamW, seeded."""
        import torch  # deferred: scoring runs in numpy; only fitting needs torch

        torch.manual_seed(seed)
        mean, std = x.mean(0), x.std(0) + 1e-6
        xt = torch.from_numpy(((x - mean) / std).astype(np.float32))
        yt, wt = torch.from_numpy(y.astype(np.float32)), torch.from_numpy(weight.astype(np.float32))
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], 32), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(32, 3)
        )
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
        scored = ~torch.isnan(yt[:, 0])
        for _ in range(epochs):
            out = net(xt)
            bce = torch.nn.functional.binary_cross_entropy_with_logits
            loss = (bce(out[scored, 0], yt[scored, 0], reduction="none") * wt[scored]).sum() / wt[scored].sum()
            loss = loss + (bce(out[:, 1:], yt[:, 1:], reduction="none").sum(1) * wt).sum() / wt.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        w1, b1, w2, b2 = (t.detach().numpy() for t in (net[0].weight.T, net[0].bias, net[2].weight.T, net[2].bias))
        return cls({"mean": mean, "std": std, "w1": w1, "b1": b1, "w2": w2, "b2": b2})
