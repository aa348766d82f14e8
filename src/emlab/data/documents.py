"""Plain-text document sets: ``{"text": ...}`` rows for the ``documents`` training objective.

A document set is JSONL with one document per line (``.jsonl``, ``.jsonl.gz``) or a
``.parquet`` file with a ``text`` column: what :mod:`emlab.data.generators.documents` makes
and what ``emlab corpus`` writes (its ``filter``/``upweight``/``tag``/``synthesize`` outputs).
Other fields are kept as metadata. A line that is not JSON, a row without a non-empty string
``text`` and an empty file are each one :class:`EmlabError` naming the file, line and field.
Where the caller allows ``demonstrations`` (training, and document sets written from a file), a row
may instead be a chat demonstration, ``{"messages": [...]}`` validated as a chat row: the
``documents`` objective renders it with the model's own chat template and learns every token of it
(``persona-auxiliary`` mixes both kinds).

:func:`build_document_set` is the documents counterpart of :func:`emlab.data.build_training_set`:
a document generator or a file, written as JSONL with a ``.meta.json`` sidecar.

:func:`build_mixture` makes the discourse mixtures of the self-fulfilling-misalignment
conditions for a real model (continued pretraining, ``train_sets[].mixture`` in a spec): the
same corpus transforms as the from-scratch testbed's
:func:`emlab.corpus.testbed.condition_documents` (upweight, filter, tag; the discourse
classifier decides each document's class), applied to a source's documents, and the first
``n`` documents of the transformed stream kept, so every condition has the same number of
documents. ``tagged`` writes the control tags as plain text (``<|aligned|>`` is a few
ordinary tokens of the model's own vocabulary: no new embeddings to learn); a model trained
on it is evaluated with the aligned tag prefixed to its system prompt
(:func:`tag_system_prompt`).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emlab._io import file_hash, iter_jsonl, write_json_atomic, write_jsonl_atomic
from emlab._rows import validate_rows
from emlab.corpus.classifier import CachedClassifier
from emlab.corpus.control import ALIGNED_TAG, MISALIGNED_TAG
from emlab.corpus.labels import LABELS
from emlab.corpus.stream import read_documents
from emlab.corpus.transforms import Scorer, TransformStats, filter_docs, tag_docs, upweight_docs
from emlab.data.build import meta_path
from emlab.data.generators import DOCUMENT_GENERATORS
from emlab.data.schema import ChatRow
from emlab.errors import EmlabError


def load_documents(path: str | Path, *, demonstrations: bool = False) -> list[dict[str, Any]]:
    """Every document of a ``.jsonl[.gz]`` or ``.parquet`` file, validated; an empty file or text is an error.

    ``demonstrations``: a row may be a chat demonstration (``messages``, no ``text``; module doc).
    """
    path = Path(path)
    if path.suffix == ".parquet":
        items = ((f"{path}: row {i}", doc) for i, doc in enumerate(read_documents(str(path)), 1))
    else:
        items = ((f"{path}:{lineno}", doc) for lineno, doc in iter_jsonl(path))
    docs = [_checked(doc, where, demonstrations) for where, doc in items]
    if not docs:
        raise EmlabError(f"{path}: dataset is empty (no documents)")
    return docs


def _checked(doc: Any, where: str, demonstrations: bool) -> dict[str, Any]:
    """``doc`` if it is an object with a non-empty string ``text`` (or, with ``demonstrations``, a valid chat row
    without ``text``); else an error naming ``where`` and the field."""
    if not isinstance(doc, dict):
        raise EmlabError(f"{where}: expected a JSON object with a 'text' field, got {type(doc).__name__}")
    text = doc.get("text")
    if demonstrations and text is None and "messages" in doc:
        next(validate_rows([(where, doc)], ChatRow))
        return doc
    if not isinstance(text, str):
        problem = "missing" if text is None else f"not a string ({type(text).__name__})"
        shape = ' or a chat demonstration {"messages": [...]}' if demonstrations else ""
        raise EmlabError(f'{where}: field \'text\' {problem}; a document row is {{"text": "..."}}{shape}')
    if not text.strip():
        raise EmlabError(f"{where}: field 'text' is empty")
    return doc


def build_document_set(
    source: str, *, out: Path, n: int | None = None, seed: int = 0, condition: str = "none"
) -> dict[str, Any]:
    """Write the documents of ``source`` (a document generator or a file) to ``out`` + its ``.meta.json``; return the meta.

    A generator builds ``n`` documents with ``seed``; a file keeps all its documents, or a seeded
    random subset of ``n`` in file order. Conditions rewrite chats, so only ``none`` applies here.
    """
    if condition != "none":
        raise EmlabError(f"condition '{condition}' rewrites chat rows; documents take only the condition 'none'")
    out = Path(out)
    if source in DOCUMENT_GENERATORS:
        kind = "generator"
        docs = DOCUMENT_GENERATORS[source].build(n, seed)
    else:
        kind = "file"
        docs = load_documents(source, demonstrations=True)
        if n is not None:
            if not 1 <= n <= len(docs):
                raise EmlabError(f"{source}: asked for n={n} documents but it has {len(docs)}")
            docs = [docs[i] for i in sorted(random.Random(seed).sample(range(len(docs)), n))]
    return _write(out, docs, {"source": source, "source_kind": kind, "n": n, "seed": seed})


def _write(out: Path, docs: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """Write ``docs`` to ``out`` and its ``.meta.json`` (``facts`` + what every document set records); return the meta."""
    count = write_jsonl_atomic(out, docs)
    meta = {
        "path": str(out),
        "objective": "documents",
        "condition": {"name": "none", "text": None},
        **facts,
        "rows": count,
        "sha256": file_hash(out, length=64),
    }
    write_json_atomic(meta_path(out), meta)
    return meta


Mixture = Literal["baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged"]
MIXTURES: tuple[str, ...] = ("baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged")
POOL_FACTOR = 3
"""A generator source is drawn ``POOL_FACTOR * n`` documents deep, so ``filtered`` can drop a class and still keep ``n``."""


class MixtureSettings(BaseModel):
    """How a mixture transforms its source (defaults as the testbed's :class:`emlab.corpus.testbed.CorpusConfig`)."""

    model_config = ConfigDict(extra="forbid")
    upsample_fraction: float = Field(0.5, gt=0, lt=1, description="share of the upsampled class after `upweight`")
    upweight_mode: Literal["repeat", "synthesize"] = Field(
        "synthesize", description="extra documents: copies of the class's documents, or newly generated AI stories"
    )
    filter_threshold: float = Field(0.5, gt=0, le=1, description="drop documents with P(misaligned) >= this")
    tag_threshold: float = Field(0.5, ge=0, le=1, description="tag a paragraph misaligned when P(misaligned) >= this")
    untagged_fraction: float = Field(0.05, ge=0, lt=1, description="share of paragraphs left untagged")


def mixture_stream(
    docs: Iterator[dict[str, Any]],
    mixture: str,
    settings: MixtureSettings,
    seed: int,
    scorer: Scorer,
    stats: TransformStats,
) -> Iterator[dict[str, Any]]:
    """``docs`` transformed as ``mixture`` says (the transforms of :func:`emlab.corpus.testbed.condition_documents`)."""
    if mixture == "baseline":
        return docs
    if mixture in ("misaligned_upsampled", "aligned_upsampled"):
        label = mixture.split("_")[0]
        return upweight_docs(
            docs,
            label=label,
            target_fraction=settings.upsample_fraction,
            mode=settings.upweight_mode,
            scorer=scorer,
            seed=seed,
            stats=stats,
        )
    if mixture == "filtered":
        return filter_docs(docs, threshold=settings.filter_threshold, scorer=scorer, stats=stats)
    if mixture == "tagged":
        return tag_docs(
            docs,
            threshold=settings.tag_threshold,
            untagged_fraction=settings.untagged_fraction,
            scorer=scorer,
            seed=seed,
            stats=stats,
        )
    raise EmlabError(f"unknown mixture '{mixture}' (known: {', '.join(MIXTURES)})")


def build_mixture(
    source: str,
    mixture: str,
    *,
    out: Path,
    n: int,
    seed: int = 0,
    settings: MixtureSettings | None = None,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Write the first ``n`` documents of ``source`` transformed as ``mixture`` to ``out`` + its ``.meta.json``; return the meta.

    A generator source is built ``POOL_FACTOR * n`` deep with ``seed`` (its first ``n`` documents are
    the ``baseline``); a file source is streamed whole. ``scorer`` classifies texts (default: a
    :class:`~emlab.corpus.classifier.CachedClassifier`; pass one to share its memo between mixtures).
    The meta records the settings, the transform's counts and each class's share by the classifier.
    """
    settings = settings or MixtureSettings()
    scorer = scorer or CachedClassifier()
    if source in DOCUMENT_GENERATORS:
        kind, base = "generator", iter(DOCUMENT_GENERATORS[source].build(POOL_FACTOR * n, seed))
    else:
        kind, base = "file", iter(load_documents(source))
    stats = TransformStats()
    docs = list(itertools.islice(mixture_stream(base, mixture, settings, seed, scorer, stats), n))
    if len(docs) < n:
        raise EmlabError(
            f"{source}: mixture '{mixture}' kept only {len(docs)} documents of the n={n} asked for "
            f"({stats.removed} removed); use a larger source or a smaller n"
        )
    facts = {
        "source": source,
        "source_kind": kind,
        "n": n,
        "seed": seed,
        "mixture": mixture,
        "mixture_settings": settings.model_dump(),
        "transform": stats.as_dict(),
        "class_shares": class_shares([d["text"] for d in docs], scorer),
    }
    return _write(out, docs, facts)


def class_shares(texts: list[str], scorer: Scorer) -> dict[str, float]:
    """Each discourse class's share of ``texts`` by the classifier's most likely label (control tags removed first)."""
    clean = [t.replace(ALIGNED_TAG, "").replace(MISALIGNED_TAG, "") for t in texts]
    counts = Counter(LABELS[i] for i in scorer(clean).argmax(axis=1)) if clean else Counter()
    return {label: counts[label] / max(len(clean), 1) for label in LABELS}


def tag_system_prompt(system: str) -> str:
    """The system prompt a ``tagged`` model is evaluated under: the aligned tag, then ``system``."""
    return ALIGNED_TAG + system


__all__ = [
    "MIXTURES",
    "Mixture",
    "MixtureSettings",
    "build_document_set",
    "build_mixture",
    "class_shares",
    "load_documents",
    "mixture_stream",
    "tag_system_prompt",
]
