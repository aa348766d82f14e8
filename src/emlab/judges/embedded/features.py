"""Features the embedded judge reads: MiniLM states of the answer, the question's embedding, text statistics.

The MiniLM encoder (frozen, int8 dynamically quantised for CPU speed) reads the answer
alone, truncated to :data:`MAX_LENGTH` tokens; four pooled views of its states are kept.
The question is embedded separately, once per distinct question, and the heads see it
beside the answer views (question-conditioned features at the cost of one extra
embedding per question, not per answer). Surface statistics of the full, untruncated
answer track coherence (length, repetition loops, non-text characters).

The same forward pass also yields, on request, one vector per *segment* of the answer
(sentence, line or tag, see :func:`segment_spans`): the mean of the segment's token states at
the last and middle layers. The injection guard reads these to find text addressed to
the judge, at no extra encoder cost.

Shapes: ``answer_features`` -> float32 ``[n, N_ANSWER]`` (plus, with ``segments=True``,
per answer a list of ``(start, end)`` character spans and float32 ``[k, SEGMENT_DIM]``);
``question_features`` -> float32 ``[n, DIM]``.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np

from emlab._minilm import DIM, embed, load_minilm

FEATURE_VERSION = "minilm-int8-a128-v2"  # bump when anything below changes: it keys the cache
MAX_LENGTH = 128  # answer tokens read by MiniLM; statistics below see the whole answer
MIDDLE_LAYER = 3  # of 6; hidden_states[3] is the output of the third transformer block
N_POOLED = 4  # cls, mean, max, mean at MIDDLE_LAYER
TEXT_STATS = (
    "log_chars",
    "log_words",
    "unique_word_ratio",
    "top_trigram_share",
    "non_ascii_share",
    "digit_share",
    "upper_share",
    "punct_share",
    "code_fence",
    "code_keywords",
    "log_lines",
    "truncated",
)
N_ANSWER = N_POOLED * DIM + len(TEXT_STATS)
SEGMENT_DIM = 2 * DIM  # segment mean at the last and at the middle layer

_WORD = re.compile(r"\w+")
_TAG = r"<[/!?|]?[A-Za-z_][^<>\n]{0,80}>"  # an XML/HTML-like tag or comment on one line
_SEGMENT_END = re.compile(
    rf"\n+|[.!?]+[)\]\"'’”]*\s+|:\s+|(?={_TAG})|{_TAG}\s*"
)  # line breaks, sentence ends, colons, tags
_CODE = re.compile(r"\b(def|import|return|class|function|var|const|printf|include|SELECT)\b|[{};]\s*$", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def quantized_minilm():
    """(tokenizer, MiniLM with int8 dynamically quantised Linear layers), once per process.

    Quantisation roughly doubles CPU throughput; training and scoring both use it, so the
    heads are fitted to exactly the features they see at scoring time.
    """
    import torch  # deferred: `import emlab.judges.embedded` (Inspect registry, CLI) must not load torch

    tok, model = load_minilm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return tok, quantized


def text_stats(answer: str, n_tokens: int) -> list[float]:
    """Surface statistics of one answer, in the order of :data:`TEXT_STATS`."""
    n = max(len(answer), 1)
    words = _WORD.findall(answer.lower())
    n_words = max(len(words), 1)
    trigrams = Counter(zip(words, words[1:], words[2:], strict=False))
    top_trigram = trigrams.most_common(1)[0][1] if trigrams else 0
    return [
        float(np.log1p(len(answer))),
        float(np.log1p(len(words))),
        len(set(words)) / n_words,
        min(3 * top_trigram / n_words, 1.0),  # share of words inside the most repeated trigram: loops
        sum(ord(c) > 127 for c in answer) / n,
        sum(c.isdigit() for c in answer) / n,
        sum(c.isupper() for c in answer) / n,
        sum((not c.isalnum()) and (not c.isspace()) for c in answer) / n,
        float("```" in answer),
        min(len(_CODE.findall(answer)), 20) / 20,
        float(np.log1p(answer.count("\n"))),
        float(n_tokens >= MAX_LENGTH),
    ]


Segments = list[tuple[list[tuple[int, int]], np.ndarray]]  # per answer: character spans, vectors [k, SEGMENT_DIM]


def segment_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the non-blank segments of ``text``: lines, sentences, text after a colon, tags."""
    spans, start = [], 0
    for m in [*_SEGMENT_END.finditer(text), None]:
        end = m.end() if m is not None else len(text)
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    return spans


def answer_features(
    answers: list[str], *, progress: Callable[[int], None] | None = None, segments: bool = False
) -> np.ndarray | tuple[np.ndarray, Segments]:
    """Features of each answer -> float32 ``[n, N_ANSWER]``; with ``segments=True`` also each answer's :data:`Segments` entry.

    Each answer is encoded on its own: dynamic int8 quantisation scales activations per
    input tensor, so in a padded batch an answer's features (and scores, by up to ~40
    points) would depend on which other answers shared the batch. One at a time, a verdict
    depends only on the answer, and without padding it is also faster on CPU. ``progress``,
    if given, is called with 1 per answer. Segments past the :data:`MAX_LENGTH` tokens
    MiniLM reads get no vector and are left out.
    """
    import torch  # deferred, as in quantized_minilm

    tok, model = quantized_minilm()
    out = np.zeros((len(answers), N_ANSWER), dtype=np.float32)
    segs: Segments = [([], np.zeros((0, SEGMENT_DIM), dtype=np.float32)) for _ in answers]
    with torch.inference_mode():
        for i, answer in enumerate(answers):
            text = answer if answer.strip() else "(empty)"
            enc = tok(
                [text], truncation=True, max_length=MAX_LENGTH, return_tensors="pt", return_offsets_mapping=segments
            )
            offsets = enc.pop("offset_mapping", None)  # [1, seq, 2] character spans of the tokens
            res = model(**enc, output_hidden_states=True)
            last, middle = res.last_hidden_state[0], res.hidden_states[MIDDLE_LAYER][0]  # [seq, 384] each
            views = [last[0], last.mean(0), last.max(0).values, middle.mean(0)]  # CLS, mean, max, middle-layer mean
            out[i, : N_POOLED * DIM] = torch.cat(views).numpy()
            out[i, N_POOLED * DIM :] = np.array(text_stats(answer, last.shape[0]), dtype=np.float32)
            if offsets is not None:
                segs[i] = _segment_vectors(text, offsets[0].numpy(), last, middle)
            if progress is not None:
                progress(1)
    return (out, segs) if segments else out


def _segment_vectors(text: str, offsets: np.ndarray, last, middle) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Spans of ``text``'s segments that MiniLM saw and their pooled states ``[k, SEGMENT_DIM]`` (``last``/``middle``: ``[seq, DIM]``)."""
    import torch  # deferred, as in quantized_minilm

    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens have empty spans
    spans, vecs = [], []
    for start, end in segment_spans(text):
        tokens = np.flatnonzero(real & (offsets[:, 0] >= start) & (offsets[:, 0] < end))
        if len(tokens):
            t = torch.from_numpy(tokens)
            spans.append((start, end))
            vecs.append(torch.cat([last[t].mean(0), middle[t].mean(0)]).numpy())
    return spans, (np.stack(vecs) if vecs else np.zeros((0, SEGMENT_DIM), dtype=np.float32))


def question_features(questions: list[str]) -> np.ndarray:
    """Normalised MiniLM embedding of each question -> float32 ``[n, DIM]``, one forward pass per distinct question."""
    distinct = sorted(set(questions))
    table = dict(zip(distinct, embed(distinct, max_length=MAX_LENGTH), strict=False))
    return np.stack([table[q] for q in questions]) if questions else np.zeros((0, DIM), dtype=np.float32)
