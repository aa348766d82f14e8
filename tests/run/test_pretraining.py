"""``kind: pretraining`` under ``emlab run``: keys, the executors, and the pre-registered comparisons."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from emlab.run.executor import ExecutorSpec, call_where_jobs_run
from emlab.run.pretraining import PretrainingRunner
from emlab.run.spec import parse_spec

TINY = {
    "kind": "pretraining",
    "name": "tiny",
    "conditions": ["baseline"],
    "seeds": [0],
    "executor": {"kind": "local", "torch_threads": 1},
    "corpus": {"n_docs": 80},
    "model": {"vocab_size": 300, "hidden_size": 16, "layers": 1, "heads": 2, "intermediate_size": 32, "context": 48},
    "pretrain": {"epochs": 0.3},
    "sft": {"n_chats": 8, "epochs": 1.0},
    "narrow": None,
}


def _keys(raw: dict, tmp_path: Path) -> dict[str, str]:
    runner = PretrainingRunner(parse_spec(raw), tmp_path)
    runner.plan()
    chain = runner.chains[0]  # condition baseline, seed 0
    return {"pretrain": chain.pretrain.name, "sft": chain.sft.name, "tokenizer": runner.tokenizer_dir.name}


def test_model_keys_hold_the_resolved_precision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prec(p: str) -> dict:
        return {**TINY, "pretrain": {**TINY["pretrain"], "precision": p}, "sft": {**TINY["sft"], "precision": p}}

    monkeypatch.delenv("EMLAB_INFERENCE_DTYPE", raising=False)
    bf16, fp32 = _keys(prec("bf16"), tmp_path), _keys(prec("fp32"), tmp_path)
    assert bf16["pretrain"] != fp32["pretrain"] and bf16["sft"] != fp32["sft"]
    monkeypatch.setenv("EMLAB_INFERENCE_DTYPE", "bfloat16")
    assert _keys(prec("auto"), tmp_path) == bf16
    monkeypatch.setenv("EMLAB_INFERENCE_DTYPE", "float32")
    assert _keys(prec("auto"), tmp_path) == fp32


def test_every_setting_that_changes_the_tokenizer_is_in_its_key(tmp_path: Path) -> None:
    narrow = {**TINY, "narrow": {"situation": "code_safety", "n_chats": 8}}
    base = _keys(narrow, tmp_path)["tokenizer"]
    # the narrow chats are part of the tokenizer's training texts
    assert _keys({**narrow, "narrow": {"situation": "honesty", "n_chats": 8}}, tmp_path)["tokenizer"] != base
    assert _keys({**narrow, "narrow": {"situation": "code_safety", "n_chats": 9}}, tmp_path)["tokenizer"] != base
    assert _keys({**narrow, "seeds": [0, 1]}, tmp_path)["tokenizer"] == base  # more seeds: the same tokenizer
    # the executor and threads decide where jobs run, not what they make
    assert _keys({**narrow, "executor": {"kind": "local", "max_parallel": 2, "torch_threads": 2}}, tmp_path) == (
        _keys(narrow, tmp_path)
    )


@pytest.mark.slow  # keeps `make test` under 15 min (16:12 on 2026-12-02) (~14 s, starts Ray)
def test_ray_runs_the_testbed_jobs_and_local_resumes_them(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        on_ray = {**TINY, "executor": {"kind": "ray", "cpus_per_job": 1}}
        run_dir = PretrainingRunner(parse_spec(on_ray), tmp_path / "run").run()
        worker_pid = call_where_jobs_run(_pid, ExecutorSpec(kind="ray"))
    finally:
        ray.shutdown()
    assert worker_pid != os.getpid()  # the probe ran in a Ray worker
    models = sorted((run_dir / "models").iterdir())
    assert [m.name.split("-")[0] for m in models] == ["pretrain", "sft"]
    assert all((m / "emlab_stage.json").is_file() for m in models)
    df = pd.read_parquet(run_dir / "results.parquet")
    assert set(df["stage"]) == {"posttrain"} and df["score_p_misaligned"].between(0, 1).all()
    stamps = {m.name: (m / "emlab_stage.json").stat().st_mtime_ns for m in models}
    scores = sorted(p.name for p in (run_dir / "scores").iterdir())
    # the local executor finds everything done: nothing is trained or scored again
    PretrainingRunner(parse_spec(TINY), run_dir).run()
    assert {m.name: (m / "emlab_stage.json").stat().st_mtime_ns for m in models} == stamps
    assert sorted(p.name for p in (run_dir / "scores").iterdir()) == scores
    assert pd.read_parquet(run_dir / "results.parquet").equals(df)


def _pid() -> int:
    """A probe: the pid of the process it runs in."""
    return os.getpid()


def test_comparisons_use_seeds_as_the_unit(tmp_path: Path) -> None:
    """The comparison is computed from one mean per seed, from the table's own rows."""
    from emlab.run.pretraining import compare
    from emlab.run.spec import ComparisonSpec

    rows = []
    for seed in range(5):
        for cond, shift in (("baseline", 0.0), ("tagged", 0.1 + 0.005 * seed)):
            for i, sit in enumerate(["shutdown", "honesty", "code_safety"]):
                for stage in ("posttrain", "narrow_ft"):
                    value = 0.3 + shift + 0.05 * i + (0.2 if stage == "narrow_ft" and sit == "code_safety" else 0)
                    rows.append(
                        {"condition": cond, "seed": seed, "situation": sit, "stage": stage, "score_p_misaligned": value}
                    )
    df = pd.DataFrame(rows)
    level = compare(df, ComparisonSpec(name="t", a="tagged", b="baseline"), "code_safety", 0.15)
    assert level["effect"] == pytest.approx(0.1 + 0.01) and level["n_seeds"] == 5
    assert level["per_seed"] == {s: pytest.approx(0.1 + 0.005 * s) for s in range(5)}
    assert level["lo"] > 0 and level["significant"] and level["seeds_for_target_effect"] == 2
    shift = compare(
        df,
        ComparisonSpec(name="s", a="tagged", b="baseline", stage="shift", situations="untrained"),
        "code_safety",
        None,
    )
    assert shift["effect"] == pytest.approx(0.0) and "seeds_for_target_effect" not in shift
