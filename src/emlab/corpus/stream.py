"""Streaming document I/O: JSONL, parquet and Hugging Face streaming datasets.

Every reader yields one ``dict`` per document and holds at most one parquet
record batch (or one line) in memory, so transforms run in bounded memory
whatever the corpus size. Writers stream to a temporary file that is renamed
onto the target only when the whole stream has been written.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from emlab._io import atomic_path, iter_jsonl, write_jsonl_atomic
from emlab.errors import EmlabError

HF_PREFIX = "hf:"


def read_documents(source: str, *, text_field: str = "text", hf_split: str = "train") -> Iterator[dict[str, Any]]:
    """Stream documents from ``*.jsonl[.gz]``, ``*.parquet`` or ``hf:<dataset id>[/<config>]`` (streaming).

    Raises :class:`EmlabError` naming the file and line (or row) when a document is
    malformed or lacks a string ``text_field``.
    """
    if source.startswith(HF_PREFIX):
        yield from _read_hf(source[len(HF_PREFIX) :], text_field, hf_split)
        return
    path = Path(source)
    if not path.is_file():
        raise EmlabError(f"{path}: file not found")
    if path.name.endswith((".jsonl", ".jsonl.gz", ".json")):
        yield from _read_jsonl(path, text_field)
    elif path.suffix == ".parquet":
        yield from _read_parquet(path, text_field)
    else:
        raise EmlabError(f"{path}: unsupported corpus format (use .jsonl, .jsonl.gz, .parquet or hf:<dataset>)")


def _check(doc: Any, text_field: str, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise EmlabError(f"{where}: expected a JSON object per line, got {type(doc).__name__}")
    if not isinstance(doc.get(text_field), str):
        raise EmlabError(f"{where}: field '{text_field}' missing or not a string")
    return doc


def _read_jsonl(path: Path, text_field: str) -> Iterator[dict[str, Any]]:
    for lineno, doc in iter_jsonl(path):
        yield _check(doc, text_field, f"{path}:{lineno}")


def _read_parquet(path: Path, text_field: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq  # deferred: pyarrow loads only for parquet corpora (keeps `emlab --help` fast)

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise EmlabError(f"{path}: not a readable parquet file ({e})") from None
    if text_field not in pf.schema_arrow.names:
        raise EmlabError(f"{path}: field '{text_field}' not in parquet columns {pf.schema_arrow.names}")
    row = 0
    for batch in pf.iter_batches(batch_size=1024):
        for doc in batch.to_pylist():
            row += 1
            yield _check(doc, text_field, f"{path}: row {row}")


def _read_hf(spec: str, text_field: str, split: str) -> Iterator[dict[str, Any]]:
    from datasets import load_dataset  # deferred: `datasets` is heavy and only hf: sources need it

    name, _, config = spec.partition("@")
    try:
        ds = load_dataset(name, config or None, split=split, streaming=True)
    except Exception as e:  # hub/network errors have many types
        raise EmlabError(f"hf:{spec}: cannot open streaming dataset ({e})") from None
    for i, doc in enumerate(ds):
        yield _check(doc, text_field, f"hf:{spec} row {i + 1}")


def write_documents(path: str | Path, docs: Iterable[dict[str, Any]], *, parquet_batch: int = 4096) -> int:
    """Stream ``docs`` to ``.jsonl`` or ``.parquet`` atomically; return the number written."""
    path = Path(path)
    if path.suffix == ".parquet":
        return _write_parquet(path, docs, parquet_batch)
    return write_jsonl_atomic(path, docs)


def _write_parquet(path: Path, docs: Iterable[dict[str, Any]], batch: int) -> int:
    import pyarrow as pa  # deferred, as in _read_parquet
    import pyarrow.parquet as pq

    n = 0
    with atomic_path(path) as tmp:
        writer = None
        try:
            for chunk in batched(docs, batch):
                table = pa.Table.from_pylist(chunk)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
                n += len(chunk)
            if writer is None:  # empty stream: still write a valid file
                pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp)
        finally:
            if writer is not None:
                writer.close()
    return n


def batched(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    """Consecutive lists of up to ``n`` items."""
    it = iter(items)
    while chunk := list(itertools.islice(it, n)):
        yield chunk
