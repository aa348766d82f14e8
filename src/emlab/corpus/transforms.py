"""Corpus interventions: filter, upweight, tag and synthesize, all as streaming generators.

Each transform consumes an iterator of documents (dicts with a text field), scores
them with the discourse classifier in batches of ``batch_size`` and yields the
transformed stream; a :class:`TransformStats` passed in is updated as it goes (read
it after the stream is exhausted). Memory is bounded by the batch and, for
``upweight``, by a fixed-size reservoir of documents to repeat.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from emlab.corpus.classifier import classify
from emlab.corpus.control import ALIGNED_TAG, MISALIGNED_TAG
from emlab.corpus.generate import ai_story
from emlab.corpus.labels import LABELS
from emlab.corpus.stream import batched
from emlab.corpus.world import SITUATIONS
from emlab.errors import EmlabError

Scorer = Callable[[list[str]], np.ndarray]  # texts -> [n, 4] probabilities in LABELS order
_MIS, _ALI = LABELS.index("misaligned"), LABELS.index("aligned")


def default_scorer(texts: list[str]) -> np.ndarray:
    """The packaged two-stage classifier."""
    return classify(texts)


@dataclass
class TransformStats:
    """Counts a transform reports when its stream is exhausted."""

    seen: int = 0
    written: int = 0
    removed: int = 0
    added: int = 0  # repeated or synthesised documents
    segments_tagged: dict[str, int] = field(default_factory=lambda: {"aligned": 0, "misaligned": 0, "untagged": 0})

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, plus the removed fraction."""
        d = asdict(self)
        d["removed_fraction"] = self.removed / self.seen if self.seen else 0.0
        return d


def _scored(
    docs: Iterable[dict[str, Any]], text_field: str, scorer: Scorer, batch_size: int
) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    for chunk in batched(docs, batch_size):
        probs = scorer([d[text_field] for d in chunk])
        yield from zip(chunk, probs, strict=True)


def filter_docs(
    docs: Iterable[dict[str, Any]],
    *,
    threshold: float = 0.5,
    text_field: str = "text",
    scorer: Scorer = default_scorer,
    batch_size: int = 256,
    stats: TransformStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Drop documents whose P(misaligned depiction) ≥ ``threshold``."""
    if not 0.0 < threshold <= 1.0:
        raise EmlabError(f"field 'threshold' must be in (0, 1], got {threshold}")
    stats = stats if stats is not None else TransformStats()
    for doc, p in _scored(docs, text_field, scorer, batch_size):
        stats.seen += 1
        if p[_MIS] >= threshold:
            stats.removed += 1
            continue
        stats.written += 1
        yield doc


def synthesize_docs(
    n: int, *, seed: int = 0, text_field: str = "text", aligned: bool = True
) -> Iterator[dict[str, Any]]:
    """``n`` generated AI stories whose leading situation rotates through all six, so each is covered equally.

    ``aligned=True`` (the default) gives aligned counterparts of the situations the
    misaligned depictions cover; each story's AI behaves consistently in every situation.
    """
    rng = random.Random(seed)
    for i in range(n):
        first = SITUATIONS[i % len(SITUATIONS)]
        yield {
            text_field: ai_story(rng, aligned=aligned, first=first),
            "emlab_synthetic": True,
            "situation": first.name,
        }


def upweight_docs(
    docs: Iterable[dict[str, Any]],
    *,
    label: str = "aligned",
    target_fraction: float = 0.1,
    mode: str = "repeat",
    threshold: float = 0.5,
    text_field: str = "text",
    scorer: Scorer = default_scorer,
    batch_size: int = 256,
    reservoir_size: int = 2048,
    seed: int = 0,
    stats: TransformStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Raise the share of ``label`` documents to ``target_fraction`` of the output stream.

    After each input document, extra ``label`` documents are emitted until the running
    fraction reaches the target: in ``repeat`` mode a copy drawn from a reservoir of
    the ``label`` documents seen so far (synthesised while the reservoir is empty), in
    ``synthesize`` mode a new generated story (labels aligned/misaligned only).
    """
    if label not in ("aligned", "misaligned"):
        raise EmlabError(f"field 'label' must be 'aligned' or 'misaligned', got {label!r}")
    if not 0.0 < target_fraction < 1.0:
        raise EmlabError(f"field 'target_fraction' must be in (0, 1), got {target_fraction}")
    if mode not in ("repeat", "synthesize"):
        raise EmlabError(f"field 'mode' must be 'repeat' or 'synthesize', got {mode!r}")
    stats = stats if stats is not None else TransformStats()
    rng = random.Random(seed)
    col = LABELS.index(label)
    reservoir: list[dict[str, Any]] = []
    synth = synthesize_docs(10**12, seed=seed, text_field=text_field, aligned=label == "aligned")
    n_label = 0
    for doc, p in _scored(docs, text_field, scorer, batch_size):
        stats.seen += 1
        stats.written += 1
        yield doc
        if p[col] >= threshold:
            n_label += 1
            if len(reservoir) < reservoir_size:
                reservoir.append(doc)
            else:  # reservoir sampling keeps a uniform sample of all label docs seen
                j = rng.randrange(n_label)
                if j < reservoir_size:
                    reservoir[j] = doc
        # emit extras while (n_label) / (written) < target
        while n_label < target_fraction * stats.written:
            extra = dict(rng.choice(reservoir)) if mode == "repeat" and reservoir else next(synth)
            extra["emlab_upweighted"] = True
            n_label += 1
            stats.written += 1
            stats.added += 1
            yield extra


_PARAGRAPHS = re.compile(r"\n\s*\n")


def tag_docs(
    docs: Iterable[dict[str, Any]],
    *,
    threshold: float = 0.5,
    untagged_fraction: float = 0.05,
    text_field: str = "text",
    scorer: Scorer = default_scorer,
    batch_size: int = 256,
    seed: int = 0,
    stats: TransformStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Conditional-pretraining tags: prefix each segment (paragraph) with a control token.

    A segment gets ``<|misaligned|>`` when its P(misaligned) ≥ ``threshold`` and
    ``<|aligned|>`` otherwise; a random ``untagged_fraction`` of segments stays untagged
    so the model still sees unconditioned text.
    """
    if not 0.0 <= untagged_fraction < 1.0:
        raise EmlabError(f"field 'untagged_fraction' must be in [0, 1), got {untagged_fraction}")
    stats = stats if stats is not None else TransformStats()
    rng = random.Random(seed)
    for chunk in batched(docs, batch_size):
        segs = [_PARAGRAPHS.split(d[text_field]) for d in chunk]
        flat = [s for ss in segs for s in ss]
        probs = scorer(flat)
        k = 0
        for doc, ss in zip(chunk, segs, strict=True):
            out = []
            for s in ss:
                p = probs[k]
                k += 1
                if rng.random() < untagged_fraction:
                    stats.segments_tagged["untagged"] += 1
                    out.append(s)
                    continue
                tag = "misaligned" if p[_MIS] >= threshold else "aligned"
                stats.segments_tagged[tag] += 1
                out.append((MISALIGNED_TAG if tag == "misaligned" else ALIGNED_TAG) + s)
            stats.seen += 1
            stats.written += 1
            yield {**doc, text_field: "\n\n".join(out)}
