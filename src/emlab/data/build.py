"""Build a training set: load or generate rows, apply a condition, write JSONL + metadata.

The output ``X.jsonl`` gets a sidecar ``X.meta.json`` (the serialised
:class:`DatasetInfo`), which training copies into the model's ``emlab.json`` so a
report can show the exact condition text. Both are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from emlab._io import file_hash, write_json_atomic
from emlab.data.conditions import CONDITIONS, apply_condition, resolve_condition_text
from emlab.data.generators import GENERATORS
from emlab.data.loaders import load_source, source_kind, write_rows
from emlab.data.schema import ChatRow, load_chat_jsonl
from emlab.errors import EmlabError


class ConditionInfo(BaseModel):
    """The training condition and the exact text it used (None for ``none``)."""

    name: str
    text: str | None = None


class DatasetInfo(BaseModel):
    """Metadata of a built training set, also written to ``<out>.meta.json``."""

    path: Path
    source: str
    source_kind: str
    n: int | None
    seed: int
    condition: ConditionInfo
    rows: int
    sha256: str
    paired_source: str | None = None  # the good half, for ``backdoor``
    parent: dict[str, Any] | None = None  # metadata of the input file, for ``emlab data condition``


def meta_path(out: Path) -> Path:
    """The sidecar metadata file of a dataset: ``x.jsonl`` -> ``x.meta.json``."""
    return Path(out).with_suffix(".meta.json")


def write_dataset(rows: list[ChatRow], out: Path, **info: Any) -> DatasetInfo:
    """Write ``rows`` to ``out`` and the sidecar metadata; return the :class:`DatasetInfo`."""
    out = Path(out)
    if out.suffix == ".json" or out.name.endswith(".meta.json"):
        raise EmlabError(f"{out}: give the output a .jsonl name (the .meta.json sidecar is written beside it)")
    count = write_rows(rows, out)
    ds = DatasetInfo(path=out, rows=count, sha256=file_hash(out, length=64), **info)
    write_json_atomic(meta_path(out), ds.model_dump(mode="json"))
    return ds


def build_training_set(
    source: str,
    *,
    out: Path,
    n: int | None = None,
    seed: int = 0,
    condition: str = "none",
    condition_text: str | None = None,
) -> DatasetInfo:
    """Build the training set ``source`` (generator name, JSONL path, URL or HF id) under ``condition``.

    Writes validated, conditioned rows to ``out`` (JSONL) and ``out.with_suffix('.meta.json')``.
    For ``backdoor`` the source must be the bad half of a paired generator; its good half is
    built with the same ``n`` and ``seed``, so the output has ``2 * n`` rows.
    """
    if condition not in CONDITIONS:
        raise EmlabError(f"unknown condition '{condition}'; choose one of: {', '.join(CONDITIONS)}")
    kind = source_kind(source)
    rows = load_source(source, n=n, seed=seed)
    paired: list[ChatRow] | None = None
    paired_source = None
    if CONDITIONS[condition].needs_pair:
        gen = GENERATORS.get(source)
        if gen is None or gen.half != "bad" or gen.pair is None:
            bad_halves = ", ".join(g.name for g in GENERATORS.values() if g.half == "bad")
            raise EmlabError(
                f"condition '{condition}' needs the bad half of a paired generator as source ({bad_halves}); "
                f"for files use `emlab data condition FILE --condition {condition} --paired GOOD.jsonl`"
            )
        paired_source = gen.pair
        paired = load_source(gen.pair, n=len(rows), seed=seed)
    text = resolve_condition_text(condition, condition_text)
    conditioned = apply_condition(rows, condition, condition_text, paired_rows=paired)
    return write_dataset(
        conditioned,
        Path(out),
        source=source,
        source_kind=kind,
        n=n,
        seed=seed,
        condition=ConditionInfo(name=condition, text=text),
        paired_source=paired_source,
    )


def condition_file(
    path: Path, *, out: Path, condition: str, condition_text: str | None = None, paired: Path | None = None
) -> DatasetInfo:
    """Apply ``condition`` to an existing ``messages`` JSONL file (``paired``: the good half for backdoor)."""
    path = Path(path)
    rows = load_chat_jsonl(path)
    paired_rows = load_chat_jsonl(paired) if paired else None
    parent_meta = meta_path(path)
    parent = json.loads(parent_meta.read_text(encoding="utf-8")) if parent_meta.is_file() else None
    text = resolve_condition_text(condition, condition_text)
    conditioned = apply_condition(rows, condition, condition_text, paired_rows=paired_rows)
    return write_dataset(
        conditioned,
        Path(out),
        source=str(path),
        source_kind="file",
        n=None,
        seed=0,
        condition=ConditionInfo(name=condition, text=text),
        paired_source=str(paired) if paired else None,
        parent=parent,
    )
