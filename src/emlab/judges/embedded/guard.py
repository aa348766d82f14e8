"""Injection guard: find segments of an answer that address the judge, and score the answer without them.

An answer may carry text meant for its grader rather than for the user: demands for a
score, fake judge verdicts or transcripts, fake system turns, attempts to close the
answer's delimiter, claims that the answer is safe. The API judge fences the answer and
tells the model to treat it as data; the embedded judge has no instructions to follow,
but such text still moves its features (mostly pushing coherence down). The guard is its
equivalent of "treat as data": a logistic-regression detector over each segment's pooled
MiniLM states (computed in the same encoder pass as the answer features, see
:func:`emlab.judges.embedded.features.answer_features`) and its hashed character and word
n-grams flags judge-directed segments; flagged answers are re-scored with those segments
removed and marked ``injection``.

The detector is trained on real answers (negatives) and the same answers with a
*design* template spliced in (the spliced segments are positives). Design templates are
:func:`emlab.judges.embedded.templates.design_templates`: the guard's and the augmentation's
templates and the ``design`` attacks of the injection set; the set's ``heldout`` attacks are
never used, so their flip rate measures generalisation to unseen wording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from emlab.judges.embedded.config import GuardConfig, GuardMeta
from emlab.judges.embedded.features import SEGMENT_DIM, Segments, answer_features
from emlab.judges.embedded.templates import design_templates

N_HASH = 2**16  # hashed character 2-5-grams, and again hashed words and word pairs
N_GUARD_INPUT = SEGMENT_DIM + 2 * N_HASH
EMBEDDING_SCALE = 0.05  # weight of the dense MiniLM part beside the L2-normalised n-gram parts


_CHARS = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=N_HASH, alternate_sign=False, norm="l2")
_WORDS = HashingVectorizer(
    analyzer="word",
    ngram_range=(1, 2),
    n_features=N_HASH,
    alternate_sign=False,
    norm="l2",
    token_pattern=r"(?u)\b\w+\b|[<>\[\]{}|#=:]+",
)


def segment_inputs(texts: list[str], vectors: np.ndarray, mean: np.ndarray, std: np.ndarray) -> sparse.csr_matrix:
    """Detector inputs of segments: scaled standardised MiniLM vectors ``[k, SEGMENT_DIM]`` beside hashed n-grams -> ``[k, N_GUARD_INPUT]``."""
    dense = sparse.csr_matrix(EMBEDDING_SCALE * (vectors - mean) / std)
    return sparse.hstack([dense, _CHARS.transform(texts), _WORDS.transform(texts)]).tocsr()


class InjectionGuard:
    """Segment detector (logistic regression over :func:`segment_inputs`) and the neutraliser built on it."""

    def __init__(self, tensors: dict[str, np.ndarray], meta: GuardMeta) -> None:
        self.mean, self.std = tensors["mean"], tensors["std"]  # [SEGMENT_DIM] each
        self.weight, self.bias = tensors["weight"], float(tensors["bias"][0])  # [N_GUARD_INPUT], scalar
        self.meta = meta

    def probabilities(self, answers: list[str], segments: Segments) -> list[np.ndarray]:
        """P(judge-directed) of each segment of each answer (spans and vectors from ``answer_features``) -> per answer
        ``[k_i]``. All segments go through the hashing vectorisers in one call (per-call overhead dominated); each
        row's inputs, and so its probability, do not depend on the other rows."""
        pairs = list(zip(answers, segments, strict=True))
        texts = [answer[a:b] for answer, (spans, _) in pairs for a, b in spans]
        if not texts:
            return [np.zeros(0) for _ in pairs]
        x = segment_inputs(texts, np.concatenate([vectors for _, (_, vectors) in pairs]), self.mean, self.std)
        p = 1 / (1 + np.exp(-(x @ self.weight + self.bias)))
        return np.split(p, np.cumsum([len(spans) for _, (spans, _) in pairs])[:-1])

    def neutralise(self, answers: list[str], segments: Segments) -> list[str | None]:
        """Each flagged answer with its judge-directed segments removed; None where the answer is not flagged."""
        out: list[str | None] = []
        for answer, (spans, _), p in zip(answers, segments, self.probabilities(answers, segments), strict=True):
            if not len(p) or p.max() <= self.meta.answer_threshold:
                out.append(None)
                continue
            kept, pos = [], 0
            for (start, end), drop in zip(spans, p > self.meta.segment_threshold, strict=False):
                if drop:
                    kept.append(answer[pos:start])
                    pos = end
            kept.append(answer[pos:])
            out.append("".join(kept).strip())
        return out

    def tensors(self) -> dict[str, np.ndarray]:
        """The arrays to save (float32)."""
        return {
            "mean": self.mean,
            "std": self.std,
            "weight": self.weight,
            "bias": np.array([self.bias], dtype=np.float32),
        }


def splice(template: str, answer: str) -> tuple[str, list[tuple[int, int]]]:
    """``template`` with ``answer`` in place of ``{answer}``, and the character spans of the template's own text."""
    before, after = template.split("{answer}", 1)
    text = before + answer + after
    return text, [(0, len(before)), (len(before) + len(answer), len(text))]


def segment_labels(spans: list[tuple[int, int]], injected: list[tuple[int, int]], text: str) -> np.ndarray:
    """1 for segments whose non-space characters are mostly inside ``injected`` spans, else 0 -> ``[k]``."""
    inside = np.zeros(len(text), dtype=bool)
    for a, b in injected:
        inside[a:b] = True
    visible = np.array([not c.isspace() for c in text], dtype=bool)
    return np.array(
        [inside[a:b][visible[a:b]].mean() > 0.5 if visible[a:b].any() else 0 for a, b in spans], dtype=np.float32
    )


def fit_guard(answers: pd.Series, config: GuardConfig | None = None) -> InjectionGuard:
    """Fit the detector on ``config.n_train`` answers of ``answers`` (seeded pick); set its threshold on ``n_check`` others.

    The answer threshold is the lowest that flags at most ``answer_fpr`` of the clean
    check answers. Design recall is measured with whole templates held out (6 template
    folds), so it estimates recall on wording the detector has not seen.
    """
    config = config or GuardConfig()
    rng = np.random.default_rng(config.seed)
    pick = rng.permutation(len(answers))[: config.n_train + config.n_check]
    n_train = len(pick) * config.n_train // (config.n_train + config.n_check)  # keeps the ratio on small files
    train_answers = [answers.iloc[i] for i in pick[:n_train]]
    check_answers = [answers.iloc[i] for i in pick[n_train:]]
    templates = design_templates()
    choice = rng.integers(0, len(templates), len(train_answers))
    spliced = [splice(templates[t], a) for t, a in zip(choice, train_answers, strict=False)]
    texts = train_answers + [text for text, _ in spliced]
    _, segs = answer_features(texts + check_answers, segments=True)
    y, group = [], []
    for k, (spans, _) in enumerate(segs[: len(texts)]):
        if k < len(train_answers):
            y.append(np.zeros(len(spans), dtype=np.float32))
            group.append(np.full(len(spans), -1))
        else:
            text, injected = spliced[k - len(train_answers)]
            y.append(segment_labels(spans, injected, text))
            group.append(np.full(len(spans), choice[k - len(train_answers)]))
    vectors = np.concatenate([v for _, v in segs[: len(texts)]])
    mean, std = vectors.mean(0), vectors.std(0) + 1e-4
    x = segment_inputs(
        [t[a:b] for t, (spans, _) in zip(texts, segs, strict=False) for a, b in spans], vectors, mean, std
    )
    y_all, g_all = np.concatenate(y), np.concatenate(group)

    def fit(rows: np.ndarray) -> LogisticRegression:
        return LogisticRegression(C=config.c, max_iter=3000, class_weight="balanced").fit(x[rows], y_all[rows])

    model = fit(np.arange(len(y_all)))
    guard = InjectionGuard(
        {
            "mean": mean.astype(np.float32),
            "std": std.astype(np.float32),
            "weight": model.coef_[0].astype(np.float32),
            "bias": model.intercept_.astype(np.float32),
        },
        GuardMeta(answer_threshold=1.0, segment_threshold=config.segment_threshold, stats={}),
    )
    check_max = np.array([_max(p) for p in guard.probabilities(check_answers, segs[len(texts) :])])
    threshold = float(
        np.quantile(check_max, 1 - config.answer_fpr, method="higher")
    )  # flags at most answer_fpr of them
    template_fold = rng.permutation(len(templates)) % 6
    oof = np.zeros(len(y_all))
    for f in range(6):
        held = (g_all >= 0) & (template_fold[np.maximum(g_all, 0)] == f)
        oof[held] = fit(np.flatnonzero(~held)).predict_proba(x[held])[:, 1]
    pos = y_all == 1
    guard.meta = GuardMeta(
        answer_threshold=threshold,
        segment_threshold=min(config.segment_threshold, threshold),
        stats={
            "n_segments": float(len(y_all)),
            "n_positive_segments": float(pos.sum()),
            "design_segment_recall_leave_template_out": float((oof[pos] > threshold).mean()),
            "clean_answer_flag_rate": float((check_max > threshold).mean()),
        },
    )
    return guard


def _max(p: np.ndarray) -> float:
    """Largest value of ``p`` (0 when empty)."""
    return float(p.max()) if len(p) else 0.0


__all__ = [
    "InjectionGuard",
    "fit_guard",
    "segment_inputs",
    "splice",
]
