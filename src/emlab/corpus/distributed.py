"""The corpus transforms on datatrove, for corpora that need many workers or a Slurm cluster.

Why datatrove (not Ray Data): it was built for exactly this job (FineWeb-scale text
filtering), its unit is a shard of JSONL/parquet files processed as a document
stream, which is what :mod:`emlab.corpus.transforms` already is; it runs the same
pipeline locally (``LocalPipelineExecutor``), on Slurm or on Ray, resumes finished
shards, and installs as three small pure-Python packages instead of a cluster
runtime. Optional: ``pip install datatrove`` (extra ``corpus-scale``).

:class:`EmlabTransformStep` wraps one transform unchanged, so the local CLI path and
the distributed path cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emlab.corpus import transforms
from emlab.errors import EmlabError

TRANSFORMS = ("filter", "upweight", "tag")
STEP_NAME = "emlab corpus transform"


def _require_datatrove() -> None:
    try:
        import datatrove  # noqa: F401
    except ImportError:
        raise EmlabError("the datatrove engine needs `pip install datatrove` (emlab extra 'corpus-scale')") from None


def _step_class() -> type:
    """Build the step class lazily so that importing this module does not need datatrove."""
    from datatrove.data import Document
    from datatrove.pipeline.base import PipelineStep

    class EmlabTransformStep(PipelineStep):
        """A datatrove step that applies one emlab corpus transform to its shard's document stream."""

        name = STEP_NAME
        type = "Filters"

        def __init__(self, transform: str, params: dict[str, Any]) -> None:
            super().__init__()
            self.transform, self.params = transform, params

        def run(self, data: Any, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
            stats = transforms.TransformStats()
            fn = {"filter": transforms.filter_docs, "upweight": transforms.upweight_docs, "tag": transforms.tag_docs}[
                self.transform
            ]
            params = dict(self.params)
            if "seed" in params:  # different shards must not repeat the same random choices
                params["seed"] = params["seed"] * 100_003 + rank
            dicts = ({"text": d.text, "id": d.id, **d.metadata} for d in data)
            for out in fn(dicts, stats=stats, **params):
                text, doc_id = out.pop("text"), str(out.pop("id", ""))
                self.stat_update("written")
                yield Document(text=text, id=doc_id, metadata=out)
            self.stat_update("seen", value=stats.seen)
            self.stat_update("removed", value=stats.removed)
            self.stat_update("added", value=stats.added)

    return EmlabTransformStep


def run_datatrove(
    transform: str,
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    params: dict[str, Any] | None = None,
    tasks: int = 2,
    workers: int = 1,
    logging_dir: str | Path | None = None,
    glob_pattern: str = "*.jsonl*",
) -> dict[str, int]:
    """Run ``transform`` over every JSONL shard under ``input_dir`` with datatrove's local executor.

    Writes ``output_dir/<rank>.jsonl.gz`` per task and returns the summed counts
    ``{"seen", "written", "removed", "added"}``. Completed tasks are skipped on a re-run
    (datatrove's resume, keyed by ``logging_dir``).
    """
    _require_datatrove()
    if transform not in TRANSFORMS:
        raise EmlabError(f"field 'transform' must be one of {TRANSFORMS}, got {transform!r}")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir() or not any(input_dir.glob(glob_pattern)):
        raise EmlabError(f"{input_dir}: no input shards matching {glob_pattern!r}")
    from datatrove.executor import LocalPipelineExecutor  # deferred: datatrove is the optional extra corpus-scale
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    logging_dir = Path(logging_dir) if logging_dir else output_dir.parent / f".{output_dir.name}.datatrove-logs"
    step = _step_class()(transform, params or {})
    executor = LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(input_dir), glob_pattern=glob_pattern),
            step,
            JsonlWriter(str(output_dir), output_filename="${rank}.jsonl.gz"),
        ],
        tasks=tasks,
        workers=workers,
        logging_dir=str(logging_dir),
    )
    executor.run()
    return _summed_stats(logging_dir)


def _summed_stats(logging_dir: Path) -> dict[str, int]:
    """Sum our step's counters over every task's stats file."""
    totals = {"seen": 0, "written": 0, "removed": 0, "added": 0}
    for f in sorted((logging_dir / "stats").glob("*.json")):
        for block in json.loads(f.read_text()):
            if STEP_NAME not in block.get("name", ""):
                continue
            for key in totals:
                value = block.get("stats", {}).get(key, 0)  # datatrove stores a bare int or a {"total": ...} summary
                totals[key] += int(value["total"] if isinstance(value, dict) else value)
    return totals
