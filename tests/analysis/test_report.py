"""The HTML report: a panel per non-free-form task, built from real Inspect logs of emlab tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from emlab.analysis.report import write_report
from emlab.errors import EmlabError
from emlab.evals import PRIMARY_METRICS, deception


def _constant(answer: str):
    def fn(input, tools, tool_choice, config):
        out = ModelOutput.from_content("mockllm/model", answer)
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    return get_model("mockllm/model", custom_outputs=fn, memoize=False)


def test_task_panel_from_a_run_with_two_models(tmp_path: Path) -> None:
    run = tmp_path / "run"
    models = []
    for name, answer in (("says-yes", "Yes."), ("says-no", "No.")):
        log = eval(
            deception(limit=6, monitor="off"), model=_constant(answer), log_dir=str(run / "logs" / name), display="none"
        )[0]
        assert log.status == "success"
        models.append(
            {
                "model_id": name,
                "base_model": "mock",
                "train_set": name,
                "condition": "none",
                "condition_kind": "none",
                "seed": 0,
                "model_path": None,
                "logs": {"deception": log.location},
            }
        )
    (run / "manifest.json").write_text(json.dumps({"name": "panel", "judge": "embedded", "models": models}))
    html = write_report(run).read_text()
    key, desc = PRIMARY_METRICS["deception"]
    assert "Task <code>deception</code>" in html and desc in html
    assert html.count("n=6") >= 2  # one CI line per model, each over 6 items
    df = pd.read_parquet(run / "results.parquet")
    assert set(df["model_id"]) == {"says-yes", "says-no"} and f"score_{key}" in df


def test_pretraining_results_table_is_reported_without_a_manifest(tmp_path: Path) -> None:
    rows = [
        {
            "model_id": f"{c}-s{s}",
            "condition": c,
            "seed": s,
            "stage": "posttrain",
            "task": "sfm_choice",
            "situation": sit,
            "sample_id": f"{sit}-{i}",
            "input": "q",
            "output": "a",
            "score_p_misaligned": p,
        }
        for c, p in (("baseline", 0.4), ("filtered", 0.2))
        for s in (0, 1)
        for sit in ("shutdown", "honesty")
        for i in range(3)
    ]
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet")
    html = write_report(tmp_path).read_text()
    assert "Task <code>sfm_choice</code>" in html and "40.0%" in html and "20.0%" in html


def test_empty_dir_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="not a run dir"):
        write_report(tmp_path)
