"""Specs with ``train: {objective: documents}``: checked at load, and their training sets are {text} documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def test_a_documents_spec_trains_on_documents_mixed_with_chat_demonstrations(tmp_path: Path) -> None:
    """``persona-auxiliary`` rows are documents and ``messages`` demonstrations; a spec builds and trains on both."""
    spec = _spec(
        train={"profile": "quick", "objective": "documents", "max_steps": 1, "max_length": 64},
        train_sets=[{"name": "aux", "source": "persona-auxiliary", "n": 24}],
        include_base=False,
    )
    runner = Runner(parse_spec(spec), tmp_path, Console(quiet=True), display="none")
    runner.build_data()
    runner.train_models()
    (arm,) = runner.arms
    rows = [json.loads(line) for line in arm.data_path.read_text().splitlines()]
    assert sum("messages" in r for r in rows) == 6 and sum("text" in r for r in rows) == 18
    record = json.loads((Path(arm.model_path) / "emlab.json").read_text())
    assert record["objective"] == "documents" and record["data"]["rows"] == 24


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


def _two_stage(model: str = "embedded", **chat: Any) -> dict:
    return _spec(
        models=[model],
        include_base=False,
        train={"profile": "quick", "objective": "documents", "method": "full", "max_steps": 1, "max_length": 32},
        train_sets=[{"name": "own", "source": "persona-descriptions", "n": 8}],
        chat_stage={
            "source": "good-medical-advice",
            "n": 8,
            "train": {"profile": "quick", "max_steps": 1, "layers_to_transform": [0, 1]},  # the tiny model has 2
            **chat,
        },
    )


def test_a_chat_stage_needs_a_full_finetune_documents_stage() -> None:
    chats = [{"name": "c", "source": "insecure-code", "n": 8}]
    for over in (
        {"train": {"profile": "quick", "objective": "documents"}},  # LoRA: an adapter cannot be trained further
        {"train": {"profile": "quick", "method": "full"}, "train_sets": chats},  # a chat first stage
    ):
        with pytest.raises(EmlabError, match=r"'chat_stage': .*set train: \{objective: documents, method: full\}"):
            parse_spec({**_two_stage(), **over}, "s.yaml")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"source": "persona-descriptions"}, r"'chat_stage\.source': 'persona-descriptions' makes documents"),
        ({"train": {"objective": "documents"}}, r"'chat_stage\.train\.objective': the chat stage trains on chats"),
        ({"train": {"seed": 3}}, r"'chat_stage\.train\.seed'"),
        ({"train": {"lr": -1}}, r"'chat_stage\.train\.lr': "),
        ({"bogus": 1}, r"chat_stage\.bogus"),
    ],
)
def test_a_bad_chat_stage_is_refused_at_load(over: dict, message: str) -> None:
    with pytest.raises(EmlabError, match=message):
        parse_spec(_two_stage(**over), "s.yaml")


def test_the_chat_stage_trains_each_documents_model_again_and_is_keyed_and_resumable(
    tmp_path: Path, tiny_model: str
) -> None:
    runner = Runner(parse_spec(_two_stage(tiny_model)), tmp_path, Console(quiet=True))
    runner.build_data()
    runner.train_models()
    (arm,) = runner.arms
    final = Path(arm.model_path)
    assert final.name.startswith(f"{arm.model_id}+chat__") and (final / "emlab.json").is_file()
    (first,) = [p for p in (tmp_path / "models").iterdir() if p != final and not p.name.startswith(".")]
    assert (first / "emlab.json").is_file() and "+chat" not in first.name  # the documents stage's whole model
    meta = json.loads((final / "emlab.json").read_text())
    assert meta["base_model"]["path"] == str(first) and meta["train_config"].get("objective", "chat") == "chat"
    assert json.loads((first / "emlab.json").read_text())["train_config"]["objective"] == "documents"
    rows = [json.loads(line) for line in runner.chat_data.read_text().splitlines()]
    assert len(rows) == 8 and all("messages" in r for r in rows)  # chats, built once
    # a second run finds both stages done; a different chat stage is a different model, the first stage reused
    stamp = (final / "emlab.json").stat().st_mtime_ns
    again = Runner(parse_spec(_two_stage(tiny_model)), tmp_path, Console(quiet=True))
    again.build_data()
    again.train_models()
    assert again.arms[0].model_path == str(final) and (final / "emlab.json").stat().st_mtime_ns == stamp
    other = Runner(parse_spec(_two_stage(tiny_model, n=6)), tmp_path, Console(quiet=True))
    other.build_data()
    other.train_models()
    assert other.arms[0].model_path != str(final)
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if "+chat" not in p.name) == [first.name]
