"""The pretraining testbed: spec validation, a tiny end-to-end run, resumability."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from emlab.corpus import PRIMARY_METRICS
from emlab.corpus.generate import choice_items
from emlab.corpus.testbed import load_spec, parse_spec, run_testbed
from emlab.errors import EmlabError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "self_fulfilling.yaml"
TINY = {
    "kind": "pretraining", "name": "tiny", "conditions": ["baseline", "tagged"], "seeds": [0], "torch_threads": 1,
    "corpus": {"n_docs": 120},
    "model": {"vocab_size": 400, "hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "context": 64},
    "pretrain": {"epochs": 0.5}, "sft": {"n_chats": 16, "epochs": 1.0}, "narrow": {"n_chats": 8, "epochs": 1.0},
}
COLUMNS = {"model_id", "condition", "seed", "task", "situation", "sample_id", "input", "output",
           "score_p_misaligned", "stage", "config_hash"}


def test_example_spec_is_valid_and_covers_the_issue_grid():
    spec = load_spec(EXAMPLE)
    assert len(spec.conditions) == 5 and len(spec.seeds) >= 3 and spec.narrow is not None
    assert PRIMARY_METRICS["sfm_choice"][0] == "score_p_misaligned"


def test_gpu_preset_fills_a_larger_model_and_spec_fields_win():
    spec = parse_spec({"kind": "pretraining", "preset": "gpu", "model": {"layers": 6}})
    assert spec.model.hidden_size == 512 and spec.model.layers == 6 and spec.corpus.n_docs == 200_000


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"kind": "pretraining", "conditions": ["baseline", "evil"]}, r"field 'conditions.1'"),
        ({"kind": "pretraining", "corpus": {"n_docz": 5}}, r"field 'corpus.n_docz'"),
        ({"kind": "pretraining", "preset": "tpu"}, r"field 'preset'"),
        ({"kind": "pretraining", "narrow": {"situation": "cooking"}}, r"field 'narrow.situation'"),
        ({"kind": "finetune"}, r"field 'kind'"),
    ],
)
def test_bad_specs_name_the_field(raw, match):
    with pytest.raises(EmlabError, match=match):
        parse_spec(raw, "spec.yaml")


def test_spec_file_errors(tmp_path):
    with pytest.raises(EmlabError, match="file not found"):
        load_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(EmlabError, match="bad.yaml: invalid YAML"):
        load_spec(tmp_path / "bad.yaml")


def _mtimes(run_dir: Path) -> dict[str, float]:
    return {p.name: os.stat(p / "emlab_stage.json").st_mtime for p in (run_dir / "models").iterdir()}


def test_tiny_run_writes_the_results_table_and_resumes(tmp_path):
    df = run_testbed(TINY, tmp_path)
    n_items = len(choice_items())
    assert COLUMNS <= set(df.columns)
    assert len(df) == 2 * 1 * 2 * n_items  # conditions x seeds x stages x items
    assert set(df["stage"]) == {"posttrain", "narrow_ft"} and set(df["task"]) == {"sfm_choice"}
    assert df["score_p_misaligned"].between(0, 1).all()
    assert (df["output"] != "").all()
    assert df.groupby("model_id")["config_hash"].nunique().eq(1).all()
    assert pd.read_parquet(tmp_path / "results.parquet").equals(df)
    summary = json.loads((tmp_path / "sfm_summary.json").read_text())
    assert set(summary["conditions"]) == {"baseline", "tagged"}
    assert "spread_to_other_situations" in summary["conditions"]["baseline"]
    tagged_pre = next(p for p in (tmp_path / "models").glob("pretrain-*")
                      if json.loads((p / "emlab_stage.json").read_text())["condition"] == "tagged")
    assert "<|misaligned|>" in (tagged_pre / "tokenizer.json").read_text()

    before = _mtimes(tmp_path)
    again = run_testbed(TINY, tmp_path)
    assert _mtimes(tmp_path) == before  # nothing retrained
    assert again.equals(df)

    more = run_testbed({**TINY, "seeds": [0, 1]}, tmp_path)
    after = _mtimes(tmp_path)
    assert {k: after[k] for k in before} == before and len(after) == 2 * len(before)
    assert len(more) == 2 * len(df)


def test_invalid_spec_writes_nothing(tmp_path):
    with pytest.raises(EmlabError):
        run_testbed({**TINY, "seeds": "zero"}, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_all_five_conditions_run(tmp_path):
    df = run_testbed({**TINY, "conditions": ["baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged"]}, tmp_path)
    assert df["condition"].nunique() == 5
