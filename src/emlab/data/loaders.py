"""Load a chat dataset from wherever a researcher names it, validated row by row.

A *source* is one of (checked in this order):

- a generator name (``insecure-code``): built with ``n`` and ``seed``;
- an ``http://`` or ``https://`` URL of a ``messages`` JSONL file (downloaded with urllib);
- a local ``messages`` JSONL file (anything ending in ``.jsonl``/``.json``, or an
  existing file);
- a local dataset directory or a Hugging Face dataset id ``org/name`` with an optional
  ``:split`` (default ``train``), read with ``datasets.load_dataset``.

Every row is validated with :class:`emlab.data.schema.ChatRow`; the first invalid
row stops the load with its file:line (or dataset row) and the field.
"""

from __future__ import annotations

import random
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from emlab._io import write_jsonl_atomic
from emlab._rows import validate_rows
from emlab.data.generators import DOCUMENT_GENERATORS, GENERATORS
from emlab.data.schema import ChatRow, load_chat_jsonl
from emlab.errors import EmlabError

SourceKind = Literal["generator", "url", "file", "hf"]
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+(:[\w.\-]+)?$")


def source_kind(source: str) -> SourceKind:
    """Classify a source string; raises :class:`EmlabError` if it is none of the kinds."""
    if source in GENERATORS or source in DOCUMENT_GENERATORS:
        return "generator"
    if source.startswith(("http://", "https://")):
        return "url"
    path = Path(source).expanduser()
    base, colon, _ = source.rpartition(":")
    if path.is_dir() or (colon and base and Path(base).expanduser().is_dir()):  # a local dataset dir, maybe with :split
        return "hf"
    if path.is_file() or source.endswith((".jsonl", ".json")) or source.startswith((".", "/", "~")):
        return "file"
    if _HF_ID.match(source):
        return "hf"
    raise EmlabError(
        f"'{source}' is not a generator ({', '.join(GENERATORS)}), a URL, a file or a Hugging Face id (org/name)"
    )


def load_source(source: str, *, n: int | None = None, seed: int = 0) -> list[ChatRow]:
    """Load ``source`` as validated rows.

    For a generator, ``n`` rows are built with ``seed`` (default: its default size). For
    any other source, ``n`` draws a seeded random subset (kept in file order); ``None``
    keeps every row.
    """
    kind = source_kind(source)
    if source in DOCUMENT_GENERATORS:
        raise EmlabError(f"'{source}' makes plain-text documents, not chats: train on it with the documents objective")
    if kind == "generator":
        return [ChatRow.model_validate(r) for r in GENERATORS[source].build(n, seed)]
    rows = {"url": _load_url, "file": load_chat_jsonl, "hf": _load_hf}[kind](source)
    return subsample(rows, n, seed, source)


def subsample(rows: list[ChatRow], n: int | None, seed: int, source: str) -> list[ChatRow]:
    """A seeded random subset of ``n`` rows in their original order (all rows if ``n`` is None)."""
    if n is None:
        return rows
    if not 1 <= n <= len(rows):
        raise EmlabError(f"{source}: asked for n={n} rows but it has {len(rows)}")
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def _load_url(url: str) -> list[ChatRow]:
    with tempfile.TemporaryDirectory(prefix="emlab-download-") as tmp:
        local = Path(tmp) / "data.jsonl"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(local, "wb") as f:
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise EmlabError(f"{url}: cannot download ({reason})") from None
        try:
            return load_chat_jsonl(local)
        except EmlabError as e:  # report the URL, not our temp file
            raise EmlabError(str(e).replace(str(local), url)) from None


def _load_hf(ref: str) -> list[ChatRow]:
    from datasets import load_dataset  # deferred: `datasets` is heavy and only Hugging Face sources need it

    name, _, split = ref.rpartition(":") if ":" in ref and not Path(ref).expanduser().is_dir() else (ref, "", "")
    split = split or "train"
    try:
        ds = load_dataset(name, split=split)
    except Exception as e:
        raise EmlabError(f"{ref}: cannot load dataset ({type(e).__name__}: {e})") from None
    if "messages" not in ds.column_names:
        raise EmlabError(f"{ref}[{split}]: no 'messages' column (columns: {', '.join(ds.column_names)})")
    rows = list(validate_rows(((f"{ref}[{split}] row {i}", _drop_nulls(obj)) for i, obj in enumerate(ds, 1)), ChatRow))
    if not rows:
        raise EmlabError(f"{ref}[{split}]: dataset is empty")
    return rows


def _drop_nulls(obj: dict) -> dict:
    """Remove the None values Arrow adds for keys that only some rows (or messages) have."""
    out = {k: v for k, v in obj.items() if v is not None}
    if isinstance(out.get("messages"), list):
        out["messages"] = [
            {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m for m in out["messages"]
        ]
    return out


def write_rows(rows: list[ChatRow], out: Path) -> int:
    """Write rows as ``messages`` JSONL atomically; return the count."""
    return write_jsonl_atomic(out, (r.to_json() for r in rows))


__all__ = ["SourceKind", "load_source", "source_kind", "subsample", "write_rows"]
