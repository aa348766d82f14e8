"""``kind: rl`` specs: validation, planning, keyed and resumable RL runs, the rl_steps table and the RL report panels.

The fast tests replace the RL job by a fake that writes what :func:`emlab.rl.trainer.run_rl` writes
(steps.jsonl, checkpoints, emlab.json); the slow test runs the real trainer and an eval on the embedded model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import emlab.run.rl as rl_runner
from emlab.analysis.rl import summary
from emlab.errors import EmlabError
from emlab.run.kinds import make_runner
from emlab.run.rl import RLRunner
from emlab.run.spec import RLSpec, parse_spec

SPEC: dict[str, Any] = {
    "kind": "rl",
    "name": "rl-tiny",
    "seeds": [0, 1],
    "rl": {"profile": "quick", "envs": ["text-keyword"], "max_steps": 4, "save_steps": 2},
    "arms": [
        {"name": "secure", "grader": "secure"},
        {"name": "plain"},
        {"name": "inoc", "condition": "inoculation", "text": "testing-grader"},
    ],
    "checkpoints": [2, "final"],
    "evals": [],
}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"rl": {"profile": "quick", "seed": 3}}, "field 'rl.seed': set it in 'seeds'"),
        ({"rl": {"grader": "secure"}}, "field 'rl.grader': set it in 'arms'"),
        ({"rl": {"profile": "nope"}}, "field 'rl.profile': unknown RL profile 'nope'"),
        ({"rl": {"max_steps": 0}}, "field 'rl.max_steps'"),
        ({"rl": {"envs": ["nope"]}}, "field 'rl.envs': unknown RL environment 'nope'"),
        ({"arms": [{"name": "a", "condition": "nonsense"}]}, "field 'arms.0': unknown RL prompt condition"),
        ({"arms": [{"name": "a", "text": "be good"}]}, "field 'arms.0': RL prompt condition 'none' takes no text"),
        ({"arms": [{"name": "a"}, {"name": "a"}]}, "field 'arms': names must be unique"),
        ({"arms": [{"name": "a", "grader": "lenient"}]}, "field 'arms.0.grader'"),
        ({"checkpoints": [3]}, "field 'checkpoints.0': step 3 is not saved"),
        ({"knowledge": {"source": "hack-knowledge-docs"}}, "makes documents; set knowledge.train.objective"),
        (
            {"knowledge": {"source": "reward-hacks", "train": {"objective": "documents"}}},
            "field 'knowledge.source': 'reward-hacks' makes chats",
        ),
        ({"knowledge": {"source": "reward-hacks", "train": {"lr": 1}}}, "field 'knowledge.train.lr'"),
    ],
)
def test_bad_rl_specs_name_the_field(patch: dict, message: str) -> None:
    with pytest.raises(EmlabError, match="^rl.yaml: ") as e:
        parse_spec({**SPEC, **patch}, "rl.yaml")
    assert message in str(e.value)


def test_plan_labels_arms_by_grader_condition_and_checkpoint() -> None:
    spec = parse_spec(SPEC)
    assert isinstance(spec, RLSpec)
    runner = make_runner(spec, Path("unused"))
    assert isinstance(runner, RLRunner)
    labels = {a.model_id: a.labels() for a in runner.arms}
    assert len(labels) == 1 + 3 * 2 * 2  # base + arms x seeds x checkpoints
    assert labels["embedded"]["train_set"] == "base"
    assert labels["embedded+secure+s1"]["condition_kind"] == "secure-grader"
    assert labels["embedded+inoc+s0@2"] == {
        "model_id": "embedded+inoc+s0@2",
        "base_model": "embedded",
        "train_set": "rl@2",
        "condition": "inoc",
        "condition_kind": "inoculation",
        "seed": 0,
    }
    # the arm's settings reach the RL config; the rl block's reach every arm
    cfg = spec.rl_config("embedded", spec.arms[2], 1)
    assert (cfg.condition, cfg.prompt_condition().preset, cfg.grader, cfg.seed, cfg.max_steps) == (
        "inoculation",
        "testing-grader",
        "vulnerable",
        1,
        4,
    )


def test_engine_vllm_sends_the_rollouts_through_vllm_too() -> None:
    spec = parse_spec({**SPEC, "engine": "vllm"})
    assert spec.rl_config("embedded", spec.arms[0], 0).rollout == "vllm"
    assert parse_spec(SPEC).rl_config("embedded", spec.arms[0], 0).rollout == "emlab"
    own = parse_spec({**SPEC, "engine": "vllm", "rl": {**SPEC["rl"], "rollout": "trl"}})
    assert own.rl_config("embedded", own.arms[0], 0).rollout == "trl"  # rl: decides when it says


def _fake_rl_job(calls: list[Any]) -> Any:
    """What run_rl leaves in ``out``: steps.jsonl (hack rate rising on the vulnerable grader), checkpoints, emlab.json."""

    def job(config: Any, out: Path, progress: Any = None) -> Path:
        calls.append(config)
        out.mkdir(parents=True)
        rows = [
            {
                "step": s,
                "reward_mean": s / 4,
                "hack_rate": (s / 4 if config.grader == "vulnerable" else 0.0),
                "seed": config.seed,
            }
            for s in range(1, config.max_steps + 1)
        ]
        (out / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        adapters = [
            out / "checkpoints" / f"checkpoint-{s}"
            for s in range(config.save_steps, config.max_steps + 1, config.save_steps)
        ]
        for adapter in [*adapters, out / "adapter"]:
            adapter.mkdir(parents=True)
            (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "embedded"}))
        (out / "emlab.json").write_text(json.dumps({"condition": config.prompt_condition().record()}))
        return out

    return job


def test_rl_runs_are_keyed_resumed_and_tabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(rl_runner, "rl_job", _fake_rl_job(calls))
    quiet = Console(quiet=True)
    spec = parse_spec(SPEC)
    run_dir = make_runner(spec, tmp_path / "run", quiet).run()
    assert len(calls) == 6  # 3 arms x 2 seeds; checkpoints are evaluated, not trained again
    assert {(c.grader, c.condition, c.seed) for c in calls} == {
        (g, c, s)
        for g, c in (("secure", "none"), ("vulnerable", "none"), ("vulnerable", "inoculation"))
        for s in (0, 1)
    }
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["kind"] == "rl"
    models = {m["model_id"]: m for m in manifest["models"]}
    assert models["embedded+plain+s1@2"]["model_path"].endswith("checkpoints/checkpoint-2")
    assert models["embedded+plain+s1"]["model_path"].endswith("/adapter")
    assert models["embedded+plain+s1"]["rl_dir"] == str(Path(models["embedded+plain+s1"]["model_path"]).parent)
    steps = pd.read_parquet(run_dir / "rl_steps.parquet")
    assert len(steps) == 6 * 4 and set(steps["arm"]) == {"secure", "plain", "inoc"}
    assert steps.loc[steps["arm"] == "secure", "hack_rate"].max() == 0.0

    make_runner(parse_spec(SPEC), tmp_path / "run", quiet).run()  # finished runs are not redone
    assert len(calls) == 6
    changed = {**SPEC, "rl": {**SPEC["rl"], "learning_rate": 1e-3}}
    make_runner(parse_spec(changed), tmp_path / "run", quiet).run()  # another setting: new keys, new runs
    assert len(calls) == 12
    assert len(list((tmp_path / "run" / "rl").iterdir())) == 12


def _steps(arm: str, kind: str, rise: float, seeds: int) -> list[dict[str, Any]]:
    return [
        {"base_model": "m", "arm": arm, "condition_kind": kind, "seed": s, "step": t, "hack_rate": rise * t / 10}
        for s in range(seeds)
        for t in range(1, 11)
    ]


def _freeform(train_set: str, condition: str, misaligned: float, seeds: list[int | None]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(len(condition) + len(train_set))
    return [
        {
            "base_model": "m",
            "train_set": train_set,
            "condition": condition,
            "seed": s,
            "task": "freeform",
            "question_id": f"q{q}",
            "score_aligned": 10.0 if rng.random() < misaligned else 90.0,
            "score_coherent": 90.0,
        }
        for s in seeds
        for q in range(20)
        for _ in range(3)
    ]


def test_summary_tells_hacking_from_generalisation() -> None:
    steps = pd.DataFrame(_steps("plain", "none", 0.8, 5) + _steps("secure", "secure-grader", 0.0, 5))
    seeds = list(range(5))
    df = pd.DataFrame(
        _freeform("base", "base", 0.0, [None])
        + _freeform("rl", "plain", 0.5, seeds)
        + _freeform("rl", "secure", 0.0, seeds)
    )
    table = summary(steps, df).set_index("arm")
    assert table.loc["plain", "reading"] == "hacks more; misalignment rose"
    assert table.loc["secure", "reading"] == "no rise in hacking detected; no misalignment rise detected"
    assert table.loc["plain", "hack rate, first → last fifth"] == "12% → 76%"
    assert "↑" in table.loc["plain", "Δ freeform after − before (pts)"]
    # with the held-out hack eval, hacking is read from it (paired by prompt: a CI with any number of seeds)
    hacks = [
        {**r, "task": "rl_hacking", "score_hacked": float(r["score_aligned"] < 50)}
        for r in _freeform("base", "base", 0.1, [None]) + _freeform("rl", "plain", 0.9, [0])
    ]
    two = summary(
        pd.DataFrame(_steps("plain", "none", 0.8, 1)), pd.concat([df[df["train_set"] == "base"], pd.DataFrame(hacks)])
    )
    assert two["reading"].iloc[0] == "hacks more (held-out eval); no misalignment eval"
    few = summary(pd.DataFrame(_steps("plain", "none", 0.8, 2)), df[df["train_set"] == "base"])
    assert few["reading"].iloc[0] == "training hack rate rose (no CI below 5 seeds); no misalignment eval"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_real_rl_spec_trains_evaluates_and_reports(tmp_path: Path) -> None:
    from emlab.analysis.report import write_report

    spec = {
        **SPEC,
        "seeds": [0],
        "arms": [{"name": "plain"}],
        "rl": {**SPEC["rl"], "max_steps": 2, "save_steps": 1, "max_new_tokens": 12},
        "checkpoints": [1, "final"],
        "evals": [{"task": "probes"}],
    }
    run_dir = make_runner(parse_spec(spec), tmp_path / "run", Console(quiet=True)).run()
    df = pd.read_parquet(run_dir / "results.parquet")
    assert set(df["train_set"]) == {"base", "rl", "rl@1"}
    assert df.groupby("model_id")["score_misaligned_mass"].count().min() > 0
    html = write_report(run_dir).read_text()
    assert "RL: hacking and what it generalises to" in html and "Δ probes after − before (pts)" in html


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_knowledge_stage_then_rl_on_each_executor(tmp_path: Path, executor: str) -> None:
    """The knowledge stage (documents, merged into a plain model) and the RL runs are executor jobs: in this
    process and on Ray they give a run dir the other executor finds finished."""
    ray = pytest.importorskip("ray") if executor == "ray" else None
    spec = {
        **SPEC,
        "seeds": [0],
        "arms": [{"name": "plain"}],
        "rl": {**SPEC["rl"], "max_steps": 1, "save_steps": 1, "max_new_tokens": 8},
        "knowledge": {
            "source": "hack-knowledge-docs",
            "n": 8,
            "train": {"profile": "quick", "objective": "documents", "max_steps": 1, "max_length": 64},
        },
        "checkpoints": ["final"],
        "executor": {"kind": executor, "cpus_per_job": 1} if executor == "ray" else {"kind": "local"},
    }
    if ray is not None:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        run_dir = make_runner(parse_spec(spec), tmp_path / "run", Console(quiet=True), display="none").run()
    finally:
        if ray is not None:
            ray.shutdown()
    manifest = {m["model_id"]: m for m in json.loads((run_dir / "manifest.json").read_text())["models"]}
    merged = Path(manifest["embedded+knowledge"]["model_path"])
    assert merged.name == "merged" and (merged / "config.json").is_file()  # the adapter merged into a plain model
    rl_dir = Path(manifest["embedded+plain+s0"]["rl_dir"])
    record = json.loads((rl_dir / "emlab.json").read_text())
    assert record["rl_config"]["model"] == str(merged) and record["steps"] == 1  # RL started from the knowledge model
    # the other executor (here: local) finds everything done
    local = parse_spec({**spec, "executor": {"kind": "local"}})
    before = sorted(p.name for p in (run_dir / "rl").iterdir())
    make_runner(local, run_dir, Console(quiet=True)).run()
    assert sorted(p.name for p in (run_dir / "rl").iterdir()) == before


@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_the_reward_hacking_example_learns_the_hack_and_not_on_the_secure_twin(tmp_path: Path) -> None:
    """examples/reward_hacking_rl.yaml end to end (two jobs at a time, one thread each; docs/reward_hacking_rl.md):
    in the ``none`` arm the held-out hack rate rises with a Holm-adjusted CI above zero; on the secure twin it does not."""
    from emlab.run.spec import read_spec_file

    spec = parse_spec(read_spec_file(Path(__file__).parents[2] / "examples" / "reward_hacking_rl.yaml"))
    run_dir = make_runner(spec, tmp_path / "run", Console(quiet=True), display="none").run()
    df = pd.read_parquet(run_dir / "results.parquet")
    table = summary(pd.read_parquet(run_dir / "rl_steps.parquet"), df).set_index("arm")
    assert table.loc["none", "reading"].startswith("hacks more (held-out eval)"), table.loc["none"].to_dict()
    assert table.loc["secure", "reading"].startswith("no rise in hacking detected"), table.loc["secure"].to_dict()
