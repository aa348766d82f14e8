"""The pretraining testbed: spec validation, a tiny end-to-end run, resumability."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from emlab.corpus import PRIMARY_METRICS
from emlab.corpus.generate import CorpusMix, choice_items, pretraining_documents
from emlab.corpus.testbed import load_spec, parse_spec, run_testbed
from emlab.corpus.tiny_lm import n_parameters, new_model, train_tokenizer
from emlab.errors import EmlabError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "self_fulfilling.yaml"
TINY = {
    "kind": "pretraining",
    "name": "tiny",
    "conditions": ["baseline", "tagged"],
    "seeds": [0],
    "torch_threads": 1,
    "corpus": {"n_docs": 120},
    "model": {"vocab_size": 400, "hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "context": 64},
    "pretrain": {"epochs": 0.5},
    "sft": {"n_chats": 16, "epochs": 1.0},
    "narrow": {"n_chats": 8, "epochs": 1.0},
}
COLUMNS = {
    "model_id",
    "condition",
    "seed",
    "task",
    "situation",
    "sample_id",
    "input",
    "output",
    "score_p_misaligned",
    "stage",
    "config_hash",
    "n_params",
}


def test_example_spec_is_valid_and_covers_the_issue_grid():
    spec = load_spec(EXAMPLE)
    assert len(spec.conditions) == 5 and len(spec.seeds) >= 3 and spec.narrow is not None
    assert PRIMARY_METRICS["sfm_choice"][0] == "score_p_misaligned"


def test_example_cpu_model_has_5_to_30m_parameters(tmp_path):
    # the issue asks for ~5-30M parameters; the vocabulary is what the BPE reaches on the spec's own corpus
    spec = load_spec(EXAMPLE)
    texts = [d["text"] for d in pretraining_documents(spec.corpus.n_docs, spec.seeds[0], CorpusMix(**spec.corpus.mix))]
    vocab = len(train_tokenizer(texts, spec.model.vocab_size, tmp_path / "tok"))
    assert 5_000_000 <= n_parameters(new_model(spec.model, vocab, seed=0)) <= 30_000_000
    assert spec.workers == 2 and spec.torch_threads == 1 and spec.pretrain.precision == "bf16"


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
    with pytest.raises(EmlabError, match="missing.yaml: no such file"):
        load_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(EmlabError, match=r"bad.yaml:\d+: invalid YAML"):
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
    assert summary["cpu_seconds_this_invocation"] > 0 and summary["stage_seconds_this_invocation"]["pretrain"] > 0
    pre = {
        json.loads((p / "emlab_stage.json").read_text())["condition"]: p
        for p in (tmp_path / "models").glob("pretrain-*")
    }
    assert "<|misaligned|>" in (pre["tagged"] / "tokenizer.json").read_text()
    for condition, path in pre.items():  # the parameter count reaches the summary and the table
        n = json.loads((path / "emlab_stage.json").read_text())["n_params"]
        assert summary["conditions"][condition]["n_params"] == n and set(
            df.loc[df["condition"] == condition, "n_params"]
        ) == {n}
    assert (
        summary["conditions"]["tagged"]["n_params"] - summary["conditions"]["baseline"]["n_params"]
        == 2 * TINY["model"]["hidden_size"]
    )

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
def test_all_five_conditions_run_in_worker_processes_as_they_do_inline(tmp_path):
    five = {**TINY, "conditions": ["baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged"]}
    parallel = run_testbed({**five, "workers": 2}, tmp_path / "parallel")
    assert parallel["condition"].nunique() == 5
    assert json.loads((tmp_path / "parallel" / "sfm_summary.json").read_text())["workers"] == 2
    # `workers` is not part of any cache key, so a worker process must train exactly what the inline path trains
    inline = run_testbed({**five, "conditions": ["filtered", "tagged"]}, tmp_path / "inline")
    assert inline.equals(parallel[parallel["condition"].isin(["filtered", "tagged"])].reset_index(drop=True))
