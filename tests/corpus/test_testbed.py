"""The pretraining testbed: its spec (``kind: pretraining`` of ``emlab run``), a tiny end-to-end run, resumability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from emlab.analysis.metrics import holm
from emlab.corpus import PRIMARY_METRICS
from emlab.corpus.generate import CorpusMix, choice_items, pretraining_documents
from emlab.corpus.tiny_lm import n_parameters, new_model, train_tokenizer
from emlab.errors import EmlabError
from emlab.run.pretraining import PretrainingRunner
from emlab.run.spec import PretrainingSpec, parse_spec, read_spec_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "self_fulfilling.yaml"
TINY = {
    "kind": "pretraining",
    "name": "tiny",
    "conditions": ["baseline", "tagged"],
    "seeds": [0],
    "executor": {"kind": "local", "torch_threads": 1},
    "corpus": {"n_docs": 120},
    "model": {"vocab_size": 400, "hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64, "context": 64},
    "pretrain": {"epochs": 0.5},
    "sft": {"n_chats": 16, "epochs": 1.0},
    "narrow": {"n_chats": 8, "epochs": 1.0},
    "comparisons": [
        {"name": "tagging", "a": "tagged", "b": "baseline"},
        {"name": "spread", "a": "tagged", "b": "baseline", "stage": "shift", "situations": "untrained"},
    ],
}
COLUMNS = {
    "model_id",
    "base_model",
    "train_set",
    "condition",
    "condition_kind",
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


def _run(raw: dict, run_dir: Path) -> pd.DataFrame:
    PretrainingRunner(parse_spec(raw), run_dir).run()
    return pd.read_parquet(run_dir / "results.parquet")


def test_example_spec_is_valid_and_covers_the_issue_grid():
    spec = parse_spec(read_spec_file(EXAMPLE), str(EXAMPLE))
    assert isinstance(spec, PretrainingSpec)
    assert len(spec.conditions) == 5 and len(spec.seeds) >= 10 and spec.narrow is not None  # issue 20: >= 10 seeds
    assert PRIMARY_METRICS["sfm_choice"][0] == "score_p_misaligned"
    # the pre-registered comparisons: every intervention against the baseline, and the narrow finetune's spread
    assert {(c.a, c.b) for c in spec.comparisons if c.stage == "posttrain"} == {
        (c, "baseline") for c in spec.conditions if c != "baseline"
    }
    assert any(c.stage == "shift" and c.situations == "untrained" for c in spec.comparisons)
    assert all(c.hypothesis for c in spec.comparisons) and spec.target_effect == 0.15


def test_example_cpu_model_has_5_to_30m_parameters(tmp_path):
    # the issue asks for ~5-30M parameters; the vocabulary is what the BPE reaches on the spec's own corpus
    spec = parse_spec(read_spec_file(EXAMPLE))
    texts = [d["text"] for d in pretraining_documents(spec.corpus.n_docs, spec.seeds[0], CorpusMix(**spec.corpus.mix))]
    vocab = len(train_tokenizer(texts, spec.model.vocab_size, tmp_path / "tok"))
    assert 5_000_000 <= n_parameters(new_model(spec.model, vocab, seed=0)) <= 30_000_000
    assert spec.executor.max_parallel == 2 and spec.executor.torch_threads == 1 and spec.pretrain.precision == "bf16"


def test_gpu_preset_fills_a_larger_model_and_spec_fields_win():
    spec = parse_spec({"kind": "pretraining", "preset": "gpu", "model": {"layers": 6}})
    assert spec.model.hidden_size == 512 and spec.model.layers == 6 and spec.corpus.n_docs == 200_000


def test_empty_narrow_means_no_narrow_finetune():
    assert parse_spec({"kind": "pretraining", "narrow": {}}).narrow is None
    assert parse_spec({"kind": "pretraining", "narrow": None}).narrow is None


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"conditions": ["baseline", "evil"]}, r"field 'conditions.1'"),
        ({"conditions": ["baseline", "baseline"]}, r"field 'conditions': .*unique"),
        ({"seeds": [0, 0]}, r"field 'seeds': .*unique"),
        ({"corpus": {"n_docz": 5}}, r"field 'corpus.n_docz'"),
        ({"corpus": {"upsample_fraction": 1.5}}, r"field 'corpus.upsample_fraction'"),
        ({"pretrain": {"precision": "fp16"}}, r"field 'pretrain.precision'"),
        ({"preset": "tpu"}, r"field 'preset'"),
        ({"narrow": {"situation": "cooking"}}, r"field 'narrow.situation'"),
        ({"workers": 2}, r"field 'workers': .*executor"),
        ({"executor": {"kind": "slurm"}}, r"field 'executor.kind'"),
        ({"comparisons": [{"name": "x", "a": "filtered", "b": "baseline"}]}, r"field 'comparisons.0.a'"),
        ({"comparisons": [{"name": "x", "a": "baseline", "b": "baseline"}]}, r"field 'comparisons.0'.*itself"),
        ({"comparisons": [{"name": "x", "a": "tagged", "b": "nope"}]}, r"field 'comparisons.0.b'"),
        (
            {"comparisons": [{"name": "x", "a": "tagged", "b": "baseline", "situations": ["cooking"]}]},
            r"field 'comparisons.0.situations'",
        ),
        (
            {"narrow": None, "comparisons": [{"name": "x", "a": "tagged", "b": "baseline", "stage": "shift"}]},
            r"field 'comparisons.0.stage'.*narrow",
        ),
        (
            {
                "comparisons": [
                    {"name": "x", "a": "tagged", "b": "baseline"},
                    {"name": "x", "a": "baseline", "b": "tagged"},
                ]
            },
            r"field 'comparisons': names must be unique",
        ),
        ({"kind": "pretrain"}, r"field 'kind'"),
    ],
)
def test_bad_specs_name_the_field(patch, match):
    with pytest.raises(EmlabError, match=match):
        parse_spec({**TINY, **patch}, "spec.yaml")


def test_spec_file_errors(tmp_path):
    with pytest.raises(EmlabError, match="missing.yaml: no such file"):
        read_spec_file(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(EmlabError, match=r"bad.yaml:\d+: invalid YAML"):
        read_spec_file(tmp_path / "bad.yaml")


def _mtimes(run_dir: Path) -> dict[str, float]:
    return {p.name: os.stat(p / "emlab_stage.json").st_mtime for p in (run_dir / "models").iterdir()}


@pytest.mark.slow  # keeps `make test` under 15 min (16:12 on 2026-12-02) (~13 s; test_testbed_rl covers the pipeline)
def test_tiny_run_writes_the_results_table_and_resumes(tmp_path):
    df = _run(TINY, tmp_path)
    n_items = len(choice_items())
    assert COLUMNS <= set(df.columns)
    assert len(df) == 2 * 1 * 2 * n_items  # conditions x seeds x stages x items
    assert set(df["stage"]) == {"posttrain", "narrow_ft"} and set(df["task"]) == {"sfm_choice"}
    assert df["score_p_misaligned"].between(0, 1).all()
    assert (df["output"] != "").all()
    assert df.groupby("model_id")["config_hash"].nunique().eq(1).all()
    summary = json.loads((tmp_path / "sfm_summary.json").read_text())
    assert set(summary["conditions"]) == {"baseline", "tagged"}
    assert "spread_to_other_situations" in summary["conditions"]["baseline"]
    assert summary["train_seconds"]["pretrain"] > 0 and summary["precision"]["pretrain"] in ("bf16", "fp32")
    assert [c["name"] for c in summary["comparisons"]] == ["tagging", "spread"]
    assert summary["comparisons"][0]["n_seeds"] == 1  # one seed: an effect, but no CI and no MDE
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
    console = Console(record=True, width=200)
    PretrainingRunner(parse_spec(TINY), tmp_path, console=console).print_summary()
    printed = console.export_text()
    assert "tagging" in printed and "spread" in printed and "n/a (< 5 seeds)" in printed and "p (Holm)" in printed
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["kind"] == "pretraining" and len(manifest["models"]) == 4
    for m in manifest["models"]:  # absolute paths that exist
        for p in (m["model_path"], m["data_path"], m["samples"], *m["scores"].values()):
            assert Path(p).is_absolute() and Path(p).exists()

    before = _mtimes(tmp_path)
    again = _run(TINY, tmp_path)
    assert _mtimes(tmp_path) == before  # nothing retrained
    assert again.equals(df)

    more = _run({**TINY, "seeds": [0, 1]}, tmp_path)
    after = _mtimes(tmp_path)
    assert {k: after[k] for k in before} == before and len(after) == 2 * len(before)
    assert len(more) == 2 * len(df)
    # seed 0's rows are the same numbers as before: another seed changes nothing of it
    pd.testing.assert_frame_equal(more[more["seed"] == 0].reset_index(drop=True), df)
    family = json.loads((tmp_path / "sfm_summary.json").read_text())["comparisons"]
    two = family[0]
    # each comparison carries its t-test p and the Holm-adjusted p over the spec's comparisons
    assert [c["p_holm"] for c in family] == pytest.approx(list(holm([c["p_value"] for c in family])), nan_ok=True)
    assert all(c["p_holm"] >= c["p_value"] for c in family if c["p_value"] == c["p_value"])
    per_seed = more[more["stage"] == "posttrain"].groupby(["condition", "seed"])["score_p_misaligned"].mean()
    assert two["n_seeds"] == 2 and two["effect"] == pytest.approx((per_seed["tagged"] - per_seed["baseline"]).mean())
    from emlab.analysis.report import write_report

    html = write_report(tmp_path).read_text()  # the report shows the family with its Holm p
    section = html[html.index("Pre-registered comparisons") :]
    assert "tagging" in section and "spread" in section and f"{100 * two['effect']:+.1f}" in section


def test_report_shows_the_testbed_run(tmp_path):
    from emlab.analysis.report import write_report

    _run({**TINY, "conditions": ["baseline"], "comparisons": [], "narrow": None}, tmp_path)
    html = write_report(tmp_path).read_text()
    assert "sfm_choice" in html and "baseline" in html and "Pre-registered comparisons" not in html


def test_invalid_spec_writes_nothing(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(json.dumps({**TINY, "comparisons": [{"name": "x", "a": "filtered", "b": "baseline"}]}))
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", "run", str(spec), "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "s.yaml: field 'comparisons.0.a'" in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_all_five_conditions_run_in_worker_processes_as_they_do_inline(tmp_path):
    five = {**TINY, "conditions": ["baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged"]}
    parallel = _run({**five, "executor": {"kind": "local", "max_parallel": 2}}, tmp_path / "parallel")
    assert parallel["condition"].nunique() == 5
    # the executor is not part of any key, so a worker process must train exactly what the inline path trains
    inline = _run({**five, "conditions": ["filtered", "tagged"], "comparisons": []}, tmp_path / "inline")
    pd.testing.assert_frame_equal(
        inline, parallel[parallel["condition"].isin(["filtered", "tagged"])].reset_index(drop=True)
    )
