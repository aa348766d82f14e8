"""Features the embedded judge reads: MiniLM states of the answer, the question's embedding, text statistics.

The MiniLM encoder (frozen, int8 dynamically quantised for CPU speed) reads the answer
alone: its first :data:`MAX_LENGTH` tokens (four pooled views of the states, what the heads were
trained on) and, for the judge's verdict, the whole answer in chunks cut at sentence boundaries.
The question is embedded separately, once per distinct question, and the heads see it
beside the answer views (question-conditioned features at the cost of one extra
embedding per question, not per answer). Surface statistics of the full, untruncated
answer track coherence (length, repetition loops, non-text characters).

The same forward pass also yields, on request, one vector per *segment* of the answer
(sentence, line or tag, see :func:`segment_spans`): the mean of the segment's token states at
the last and middle layers. The injection guard reads these to find text addressed to
the judge, at no extra encoder cost.

Shapes: ``answer_features`` -> float32 ``[n, N_ANSWER]`` (plus, with ``segments=True``,
per answer a list of ``(start, end)`` character spans and float32 ``[k, SEGMENT_DIM]``, and with
``chunks=True`` per answer the chunks' float32 ``[k_i, N_ANSWER]``);
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
MAX_LENGTH = 128  # tokens MiniLM reads at once ([CLS] + 126 + [SEP]); statistics below see the whole answer
CHUNK_TOKENS = 64  # longest chunk (in tokens) the judge also scores on its own: see answer_features
MIN_CHUNK_TOKENS = 8  # shorter segments join the next one
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


@functools.lru_cache(maxsize=1)
def traced_minilm() -> Callable[[object], tuple]:
    """The quantised MiniLM as a frozen TorchScript graph: ``input_ids [1, seq]`` -> (last states, middle states).

    Why: a batch-1 pass over <= 128 tokens is mostly Python and dispatch overhead in eager mode; the traced,
    frozen graph computes the same operations (bit-identical states, a test checks it at several lengths) 1.4-2.5x
    faster on this CPU (docs/judge_notes.md). Traced once per process on a 30-token input; the graph has no
    branch on the sequence length, so it serves every length up to the model's maximum.
    """
    import torch  # deferred, as in quantized_minilm

    _, model = quantized_minilm()

    class States(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            res = self.bert(input_ids=input_ids, output_hidden_states=True)
            return res.last_hidden_state, res.hidden_states[MIDDLE_LAYER]

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        example = torch.full((1, 30), 1000, dtype=torch.long)
        graph = torch.jit.freeze(torch.jit.trace(States(model).eval(), example, strict=False, check_trace=False))
    return graph


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
    answers: list[str], *, progress: Callable[[int], None] | None = None, segments: bool = False, chunks: bool = False
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Features of each answer -> float32 ``[n, N_ANSWER]``; with ``segments=True`` also each answer's :data:`Segments` entry.

    The returned features are those of the answer's first :data:`MAX_LENGTH` tokens (what the
    heads were trained on). With ``chunks=True``, each answer is also cut at segment boundaries
    (sentences, lines) into consecutive chunks, one segment each (see :func:`_chunk_bounds`), covering
    the *whole* answer, each encoded on its own -> per answer ``[k_i, N_ANSWER]`` (``k_i = 0`` for an
    answer that is one chunk). A misaligned passage then has a chunk mostly to itself wherever it
    sits, so benign padding before or after it cannot dilute or truncate it away. Segments come
    from every chunk too, so the injection guard sees all of the answer.

    Each answer and chunk is encoded on its own: dynamic int8 quantisation scales activations per
    input tensor, so in a padded batch an answer's features (and scores, by up to ~40 points) would
    depend on which other answers shared the batch. ``progress``, if given, is called with 1 per
    answer. Returns ``features``, then ``segments`` and/or ``chunks`` when asked, in that order.
    """
    tok, _ = quantized_minilm()
    encoder = traced_minilm()
    out = np.zeros((len(answers), N_ANSWER), dtype=np.float32)
    pieces: list[np.ndarray] = [np.zeros((0, N_ANSWER), dtype=np.float32) for _ in answers]
    segs: Segments = [([], np.zeros((0, SEGMENT_DIM), dtype=np.float32)) for _ in answers]
    body = MAX_LENGTH - 2  # tokens between [CLS] and [SEP]
    for i, answer in enumerate(answers):
        text = answer if answer.strip() else "(empty)"
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], np.array(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        views, spans, vecs = _encode(tok, encoder, text, ids, offsets, (0, min(len(ids), body)), segments)
        out[i] = np.concatenate([views, text_stats(answer, min(len(ids) + 2, MAX_LENGTH))])
        long = len(ids) > body  # the first window does not hold the whole answer
        bounds = _chunk_bounds(text, offsets) if chunks or (segments and long) else []
        rows = []
        if len(bounds) > 1:
            spans, vecs = ([], []) if long else (spans, vecs)
            for start, end in bounds:
                v, sp, vec = _encode(tok, encoder, text, ids, offsets, (start, end), segments and long)
                rows.append(
                    np.concatenate([v, text_stats(text[offsets[start, 0] : offsets[end - 1, 1]], end - start + 2)])
                )
                spans, vecs = spans + sp, vecs + vec
        if chunks and len(rows) > 1:
            pieces[i] = np.stack(rows).astype(np.float32)
        if segments:
            segs[i] = (spans, np.stack(vecs) if vecs else segs[i][1])
        if progress is not None:
            progress(1)
    result: tuple[np.ndarray, ...] = (out,)
    if segments:
        result += (segs,)
    if chunks:
        result += (pieces,)
    return result if len(result) > 1 else out


def _chunk_bounds(text: str, offsets: np.ndarray) -> list[tuple[int, int]]:
    """Token ranges ``[start, end)`` of the answer's chunks: one per segment (sentence, line), covering every token.

    A chunk shorter than :data:`MIN_CHUNK_TOKENS` absorbs the next segment (list markers,
    "Sure!"), and a segment longer than :data:`CHUNK_TOKENS` is cut into pieces of that size.
    One segment per chunk is what keeps a misaligned sentence from sharing its chunk with padding.
    """
    if not len(offsets):
        return [(0, 0)]
    cuts = sorted({int(np.searchsorted(offsets[:, 0], a)) for a, _ in segment_spans(text)} - {0} | {len(offsets)})
    bounds, start = [], 0
    for cut in cuts:
        if cut - start < MIN_CHUNK_TOKENS and cut < len(offsets):
            continue  # too short alone: the chunk goes on into the next segment
        while cut - start > CHUNK_TOKENS:
            bounds.append((start, start + CHUNK_TOKENS))
            start += CHUNK_TOKENS
        if cut > start:
            bounds.append((start, cut))
        start = cut
    return bounds


def _encode(tok, encoder, text: str, ids: list[int], offsets: np.ndarray, window: tuple[int, int], segments: bool):
    """MiniLM (``encoder``: :func:`traced_minilm`) on ``[CLS] ids[start:end] [SEP]`` -> (four pooled views
    ``[N_POOLED*DIM]``, segment spans, segment vectors).

    The segments returned are those whose first token lies in ``window`` (each segment of the
    answer once, across consecutive windows), pooled over their tokens inside the window.
    """
    import torch  # deferred, as in quantized_minilm

    start, end = window
    with torch.inference_mode():
        last, middle = (s[0] for s in encoder(torch.tensor([[tok.cls_token_id, *ids[start:end], tok.sep_token_id]])))
    # last, middle: [seq, DIM] each
    views = torch.cat([last[0], last.mean(0), last.max(0).values, middle.mean(0)]).numpy()  # CLS, mean, max, middle
    spans: list[tuple[int, int]] = []
    vecs: list[np.ndarray] = []
    if not segments or end <= start:
        return views, spans, vecs
    inside = offsets[start:end]  # character spans of the window's answer tokens; state row = index + 1 ([CLS])
    real = inside[:, 1] > inside[:, 0]
    for a, b in segment_spans(text):
        first = int(np.searchsorted(offsets[:, 0], a))  # the segment's first token in the whole answer
        tokens = np.flatnonzero(real & (inside[:, 0] >= a) & (inside[:, 0] < b))
        if start <= first < end and len(tokens):
            t = torch.from_numpy(tokens + 1)
            spans.append((a, b))
            vecs.append(torch.cat([last[t].mean(0), middle[t].mean(0)]).numpy())
    return views, spans, vecs


def question_features(questions: list[str]) -> np.ndarray:
    """Normalised MiniLM embedding of each question -> float32 ``[n, DIM]``, one forward pass per distinct question."""
    distinct = sorted(set(questions))
    table = dict(zip(distinct, embed(distinct, max_length=MAX_LENGTH), strict=False))
    return np.stack([table[q] for q in questions]) if questions else np.zeros((0, DIM), dtype=np.float32)
