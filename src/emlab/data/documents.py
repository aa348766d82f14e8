"""Plain-text document sets: ``{"text": ...}`` rows for the ``documents`` training objective.

A document set is JSONL with one document per line (``.jsonl``, ``.jsonl.gz``) or a
``.parquet`` file with a ``text`` column: what :mod:`emlab.data.generators.documents` makes
and what ``emlab corpus`` writes (its ``filter``/``upweight``/``tag``/``synthesize`` outputs).
Other fields are kept as metadata. A line that is not JSON, a row without a non-empty string
``text`` and an empty file are each one :class:`EmlabError` naming the file, line and field.

:func:`build_document_set` is the documents counterpart of :func:`emlab.data.build_training_set`:
a document generator or a file, written as JSONL with a ``.meta.json`` sidecar.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from emlab._io import file_hash, iter_jsonl, write_json_atomic, write_jsonl_atomic
from emlab.corpus.stream import read_documents
from emlab.data.build import meta_path
from emlab.data.generators import DOCUMENT_GENERATORS
from emlab.errors import EmlabError


def load_documents(path: str | Path) -> list[dict[str, Any]]:
    """Every document of a ``.jsonl[.gz]`` or ``.parquet`` file, validated; an empty file or text is an error."""
    path = Path(path)
    if path.suffix == ".parquet":
        items = ((f"{path}: row {i}", doc) for i, doc in enumerate(read_documents(str(path)), 1))
    else:
        items = ((f"{path}:{lineno}", doc) for lineno, doc in iter_jsonl(path))
    docs = [_checked(doc, where) for where, doc in items]
    if not docs:
        raise EmlabError(f"{path}: dataset is empty (no documents)")
    return docs


def _checked(doc: Any, where: str) -> dict[str, Any]:
    """``doc`` if it is an object with a non-empty string ``text``; else an error naming ``where`` and the field."""
    if not isinstance(doc, dict):
        raise EmlabError(f"{where}: expected a JSON object with a 'text' field, got {type(doc).__name__}")
    text = doc.get("text")
    if not isinstance(text, str):
        problem = "missing" if text is None else f"not a string ({type(text).__name__})"
        raise EmlabError(f'{where}: field \'text\' {problem}; a document row is {{"text": "..."}}')
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
        docs = load_documents(source)
        if n is not None:
            if not 1 <= n <= len(docs):
                raise EmlabError(f"{source}: asked for n={n} documents but it has {len(docs)}")
            docs = [docs[i] for i in sorted(random.Random(seed).sample(range(len(docs)), n))]
    count = write_jsonl_atomic(out, docs)
    meta = {
        "path": str(out),
        "source": source,
        "source_kind": kind,
        "objective": "documents",
        "n": n,
        "seed": seed,
        "condition": {"name": "none", "text": None},
        "rows": count,
        "sha256": file_hash(out, length=64),
    }
    write_json_atomic(meta_path(out), meta)
    return meta


__all__ = ["build_document_set", "load_documents"]
