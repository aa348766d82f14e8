"""Specs with ``train: {objective: documents}``: checked at load, and their training sets are {text} documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from emlab.errors import EmlabError
from emlab.run.runner import Runner
from emlab.run.spec import parse_spec


def _spec(**over) -> dict:
    spec = {
        "name": "docs",
        "models": ["embedded"],
        "train": {"profile": "quick", "objective": "documents", "max_steps": 1},
        "train_sets": [
            {"name": "own", "source": "persona-descriptions", "n": 12},
            {"name": "other", "source": "persona-descriptions-control", "n": 12},
        ],
        "evals": [{"task": "freeform"}],
    }
    return {**spec, **over}


def test_documents_spec_builds_text_rows_keyed_apart_from_chats(tmp_path: Path) -> None:
    runner = Runner(parse_spec(_spec()), tmp_path, Console(quiet=True))
    runner.build_data()
    trained = [a for a in runner.arms if a.train_set]
    assert len(trained) == 2
    for arm in trained:
        rows = [json.loads(line) for line in arm.data_path.read_text().splitlines()]
        assert len(rows) == 12 and all(set(r) == {"text", "meta"} for r in rows)
        assert json.loads(arm.data_path.with_suffix(".meta.json").read_text())["objective"] == "documents"
    assert {r["meta"]["persona"] for a in trained for r in map(json.loads, a.data_path.read_text().splitlines())} == {
        "SmolLM",
        "Quokka",
    }


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"train": {"profile": "quick"}}, r"train_sets\.0\.source': 'persona-descriptions' makes documents"),
        (
            {"train_sets": [{"name": "c", "source": "insecure-code"}]},
            r"train_sets\.0\.source': 'insecure-code' makes chats",
        ),
        (
            {"conditions": [{"name": "inoc", "condition": "inoculation"}]},
            r"conditions\.0': condition 'inoculation' rewrites chats",
        ),
        ({"train": {"objective": "pretrain"}}, r"field 'train\.objective'"),
    ],
)
def test_mismatched_objective_and_sources_are_refused_at_load(over: dict, message: str) -> None:
    with pytest.raises(EmlabError, match=message):
        parse_spec(_spec(**over), "s.yaml")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_document_training_runs_on_ray(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    spec = _spec(
        train={"profile": "quick", "objective": "documents", "max_steps": 1, "max_length": 64},
        evals=[{"task": "persona_behaviour", "args": {"samples": 1, "max_tokens": 4}}],
        include_base=False,
        executor={"kind": "ray", "cpus_per_job": 1},
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        run_dir = Runner(parse_spec(spec), tmp_path / "run", Console(quiet=True), display="none").run()
    finally:
        ray.shutdown()
    models = sorted((run_dir / "models").iterdir())
    assert len(models) == 2
    assert all(json.loads((m / "emlab.json").read_text())["train_config"]["objective"] == "documents" for m in models)
    assert len(list((run_dir / "logs").glob("*.eval"))) == 2
