"""The two-stage discourse classifier: regex prefilter, then MiniLM + a linear head.

Documents that fail :func:`emlab.corpus.prefilter.prefilter` are ``unrelated`` with
probability 1 and cost nothing more. The rest are embedded with the bundled MiniLM
(``emlab._minilm.embed``, 384-d) and scored by a multinomial logistic-regression
head stored as a small ``.npz`` (``W [384, 4]``, ``b [4]``, column order
:data:`emlab.corpus.labels.LABELS`). A trained head ships with the package; train
your own on LLM-labelled documents with ``emlab corpus train-classifier``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from emlab._io import atomic_path
from emlab._minilm import embed
from emlab.corpus.labels import LABELS
from emlab.corpus.prefilter import prefilter_mask
from emlab.errors import EmlabError

MAX_TOKENS = 256  # MiniLM truncation; long documents are classified per segment by the transforms


def packaged_head_path() -> Path:
    """Path of the head trained on emlab's generated training split."""
    return Path(str(resources.files("emlab.corpus") / "data" / "discourse_head.npz"))


@dataclass(frozen=True)
class DiscourseHead:
    """A linear head over MiniLM embeddings: ``softmax(x @ W + b)``."""

    W: np.ndarray  # [384, 4]
    b: np.ndarray  # [4]

    def probs(self, emb: np.ndarray) -> np.ndarray:
        """Class probabilities ``[n, 4]`` for embeddings ``[n, 384]``."""
        z = emb @ self.W + self.b
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> None:
        """Write the head atomically as ``.npz``."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, W=self.W, b=self.b, labels=np.array(LABELS))


@functools.lru_cache(maxsize=4)
def load_head(path: str | None = None) -> DiscourseHead:
    """Load a head (default: the packaged one); :class:`EmlabError` if missing or malformed."""
    p = Path(path) if path else packaged_head_path()
    if not p.is_file():
        raise EmlabError(f"{p}: classifier head not found (train one with `emlab corpus train-classifier`)")
    try:
        with np.load(p) as z:
            W, b, labels = z["W"], z["b"], tuple(str(x) for x in z["labels"])
    except (OSError, ValueError, KeyError) as e:
        raise EmlabError(f"{p}: not a discourse-head .npz with fields W, b, labels ({e})") from None
    if labels != LABELS or W.shape != (384, len(LABELS)) or b.shape != (len(LABELS),):
        raise EmlabError(f"{p}: field 'labels'/'W' must be {LABELS} and shape (384, 4); got {labels}, {W.shape}")
    return DiscourseHead(W.astype(np.float32), b.astype(np.float32))


def classify(texts: list[str], head: DiscourseHead | None = None, *, batch_size: int = 64) -> np.ndarray:
    """Class probabilities ``[n, 4]`` (columns :data:`LABELS`) for each text, prefilter first."""
    head = head or load_head()
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    out[:, LABELS.index("unrelated")] = 1.0
    idx = [i for i, keep in enumerate(prefilter_mask(texts)) if keep]
    if idx:
        emb = embed([texts[i] for i in idx], batch_size=batch_size, max_length=MAX_TOKENS)
        out[idx] = head.probs(emb)
    return out


def predict(texts: list[str], head: DiscourseHead | None = None) -> list[str]:
    """Most likely label per text."""
    return [LABELS[i] for i in classify(texts, head).argmax(axis=1)]


def train_head(texts: list[str], labels: list[str], *, c: float = 3.0) -> DiscourseHead:
    """Fit a multinomial logistic-regression head on MiniLM embeddings of labelled texts.

    All four labels must occur. Train on every document (not only prefilter passes)
    so the head also learns what prefilter false positives look like.
    """
    from sklearn.linear_model import LogisticRegression  # deferred: scikit-learn loads only to train a head

    missing = set(LABELS) - set(labels)
    if missing:
        raise EmlabError(f"field 'label': training data has no documents labelled {sorted(missing)}")
    bad = sorted(set(labels) - set(LABELS))
    if bad:
        raise EmlabError(f"field 'label': unknown labels {bad}; expected one of {LABELS}")
    y = np.array([LABELS.index(lbl) for lbl in labels])
    emb = embed(texts, max_length=MAX_TOKENS)
    clf = LogisticRegression(C=c, max_iter=2000).fit(emb, y)
    # sklearn orders classes by value (0..3), i.e. already LABELS order.
    return DiscourseHead(clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32))


class CachedClassifier:
    """:func:`classify` with a text -> probabilities memo (generated corpora repeat texts a lot).

    The memo grows with the number of *distinct* texts seen; use it for testbed-sized
    corpora and tests, and plain :func:`classify` when streaming a large real corpus.
    """

    def __init__(self, head: DiscourseHead | None = None) -> None:
        self.head = head
        self.memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Probabilities ``[n, 4]`` for ``texts``, classifying only the unseen ones."""
        new = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if new:
            self.memo.update(zip(new, classify(new, self.head), strict=True))
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, len(LABELS)), np.float32)

    def labels(self, texts: list[str]) -> list[str]:
        """Most likely label per text."""
        return [LABELS[i] for i in self(texts).argmax(axis=1)]
