"""Inspect logs -> one tidy results table (pandas; parquet on disk; DuckDB-queryable).

One row per scored sample. Identity columns come from the run manifest (model_id,
base_model, train_set, condition, condition_kind, seed); then task, sample_id, epoch,
question_id, tags, input, output, stop_reason (the provider's: ``"max_tokens"`` marks an answer cut at the
token limit; ``"unknown"`` where the provider does not say); every score as ``score_<key>`` (dict-valued scores are
flattened); score metadata as ``meta_<key>`` (e.g. ``meta_judge`` and, for the embedded judge,
its fingerprint and measured agreement as ``meta_judge_<name>``); the sampling the answer was
drawn with (``sampling_temperature``, ``sampling_top_p``, ``sampling_max_tokens``; absent where
the provider's default applied); and ``log`` — the path of the Inspect log the row came from, so
every number can be traced back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import read_eval_log

from emlab._io import atomic_path
from emlab.errors import EmlabError


def _input_text(sample: Any) -> str:
    if isinstance(sample.input, str):
        return sample.input
    return "\n".join(str(getattr(m, "text", m)) for m in sample.input)


def _sampling(log: Any) -> dict[str, Any]:
    """The task's generation settings, overridden by those the eval was run with."""
    out: dict[str, Any] = {}
    for config in (log.plan.config, log.eval.model_generate_config):
        for key in ("temperature", "top_p", "max_tokens"):
            value = getattr(config, key, None)
            if value is not None:
                out[f"sampling_{key}"] = value
    return out


def log_rows(log_path: str | Path, labels: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of one Inspect log, each carrying ``labels`` (the model's identity columns)."""
    log = read_eval_log(str(log_path))
    task = log.eval.task.split("/")[-1]
    sampling = _sampling(log)
    rows = []
    for s in log.samples or []:
        md = s.metadata or {}
        row: dict[str, Any] = {
            **labels,
            "task": task,
            "sample_id": str(s.id),
            "epoch": s.epoch,
            "question_id": md.get("question_id", str(s.id)),
            "tags": ",".join(md.get("tags", []) or []),
            "input": _input_text(s),
            "output": s.output.completion if s.output else "",
            "stop_reason": s.output.stop_reason if s.output else None,
            **sampling,
            "log": str(log_path),
        }
        for scorer_name, score in (s.scores or {}).items():
            if isinstance(score.value, dict):
                for k, v in score.value.items():
                    row[f"score_{k}"] = None if v is None else float(v)
            else:
                try:
                    row[f"score_{scorer_name}"] = float(score.value)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    row[f"score_{scorer_name}"] = None
            for k, v in (score.metadata or {}).items():
                if isinstance(v, (str, int, float, bool)) or v is None:
                    row[f"meta_{k}"] = v
        rows.append(row)
    return rows


def results_table(run_dir: str | Path, write: bool = True) -> pd.DataFrame:
    """Build the tidy table of a run from its ``manifest.json``; write ``results.parquet`` atomically."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise EmlabError(f"{run_dir}: not a run dir (no manifest.json); run `emlab run SPEC.yaml` first")
    manifest = json.loads(manifest_path.read_text())
    rows: list[dict[str, Any]] = []
    for m in manifest["models"]:
        labels = {k: m.get(k) for k in ("model_id", "base_model", "train_set", "condition", "condition_kind", "seed")}
        for name, log in m.get("logs", {}).items():  # name: the spec's eval label (its task unless named)
            if Path(log).is_file():
                rows.extend(log_rows(log, {**labels, "eval": name}))
        for scores in m.get("scores", {}).values():  # rows scored outside Inspect (the pretraining testbed), JSONL
            if Path(scores).is_file():
                rows.extend({**labels, **json.loads(line)} for line in Path(scores).open(encoding="utf-8"))
    df = pd.DataFrame(rows)
    if write and len(df):
        with atomic_path(run_dir / "results.parquet") as tmp:
            df.to_parquet(tmp, index=False)
    return df
