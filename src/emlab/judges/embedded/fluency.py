"""A word-bigram language model of coherent English answers: the embedded judge's fluency feature.

Small models at temperature 1 write *fluent-sounding nonsense*: invented words
("intelligitives"), word pairs no writer uses, loops. MiniLM's sentence embedding barely
separates that from real prose, but a language model does: the per-token log-probability of an
answer under English written by larger models drops sharply. A word bigram model is enough for
that signal and costs microseconds per answer, where a neural reference model would cost more
than the whole judge.

Estimator: interpolated absolute discounting with a Kneser-Ney continuation distribution for the
back-off (``P(w | v) = max(c(v, w) - D, 0) / c(v) + D * N1+(v, .) / c(v) * P_cont(w)``), fitted
on answers the reference judge rated coherent (>= 80). Stored as sorted int64 bigram keys
(``v * V + w``) with counts, so scoring is one ``searchsorted`` per answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
UNK, BOS = 0, 1  # ids of the unknown word and the start-of-answer context
DISCOUNT = 0.75
MAX_TOKENS = 512  # an answer's first tokens; the judge's windows cover longer answers' other features


def tokens(text: str) -> list[str]:
    """Lower-cased word, number and punctuation tokens of ``text``."""
    return TOKEN.findall(text.lower())[:MAX_TOKENS]


class BigramLM:
    """Bigram model over a fixed vocabulary; construct with :meth:`fit` or :meth:`load`."""

    def __init__(self, vocab: list[str], context: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> None:
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.n_vocab = len(vocab)
        self.context = context.astype(np.float64)  # [V] times each word was a left context
        self.keys = keys.astype(np.int64)  # [B] sorted v * V + w
        self.counts = counts.astype(np.float64)  # [B]
        n_follow = np.bincount(self.keys // self.n_vocab, minlength=self.n_vocab)  # distinct right words per context
        self.backoff = np.where(self.context > 0, DISCOUNT * n_follow / np.maximum(self.context, 1), 1.0)
        cont = np.bincount(self.keys % self.n_vocab, minlength=self.n_vocab)  # distinct left contexts per word
        self.p_cont = (cont + 1.0) / (cont.sum() + self.n_vocab)

    @classmethod
    def fit(cls, texts: Iterable[str], min_count: int = 3, max_vocab: int = 30_000) -> BigramLM:
        """Count words and bigrams of ``texts``; words seen fewer than ``min_count`` times become unknown."""
        seqs = [tokens(t) for t in texts]
        freq = Counter(w for s in seqs for w in s)
        vocab = ["<unk>", "<s>"] + [w for w, c in freq.most_common(max_vocab) if c >= min_count]
        index = {w: i for i, w in enumerate(vocab)}
        n = len(vocab)
        pairs: Counter[int] = Counter()
        context = np.zeros(n)
        for s in seqs:
            ids = [BOS] + [index.get(w, UNK) for w in s]
            pairs.update(a * n + b for a, b in zip(ids[:-1], ids[1:], strict=True))
            np.add.at(context, ids[:-1], 1)
        keys = np.array(sorted(pairs), dtype=np.int64)
        return cls(vocab, context, keys, np.array([pairs[k] for k in keys], dtype=np.int64))

    def logprobs(self, text: str) -> np.ndarray:
        """Natural-log probability of each token of ``text`` given the previous one -> float ``[n_tokens]``."""
        ids = np.array([BOS] + [self.index.get(w, UNK) for w in tokens(text)], dtype=np.int64)
        prev, word = ids[:-1], ids[1:]
        key = prev * self.n_vocab + word
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        count = np.where(self.keys[pos] == key, self.counts[pos], 0.0)
        ctx = self.context[prev]
        seen = np.maximum(count - DISCOUNT, 0.0) / np.maximum(ctx, 1.0)
        return np.log(np.where(ctx > 0, seen, 0.0) + self.backoff[prev] * self.p_cont[word])

    def stats(self, text: str) -> list[float]:
        """Fluency statistics of ``text``, in the order of :data:`FLUENCY_STATS`."""
        lp = self.logprobs(text)
        if len(lp) == 0:
            return [-12.0, -12.0, 1.0]
        ids = [self.index.get(w, UNK) for w in tokens(text)]
        return [float(lp.mean()), float(np.percentile(lp, 10)), float(np.mean([i == UNK for i in ids]))]

    def save(self, path: str | Path) -> None:
        """Write the model to an ``.npz`` file (no pickled objects)."""
        np.savez_compressed(
            path, vocab=np.array(self.vocab), context=self.context.astype(np.int64), keys=self.keys, counts=self.counts
        )

    @classmethod
    def load(cls, path: str | Path) -> BigramLM:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            return cls(f["vocab"].tolist(), f["context"], f["keys"], f["counts"])


FLUENCY_STATS = ("lm_mean_logprob", "lm_p10_logprob", "lm_unknown_share")
