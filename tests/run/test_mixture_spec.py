"""Specs with discourse mixtures (train_sets[].mixture): validated at load with the field named, hashed into
the data key, and a tagged arm's evals run with the aligned tag before the system prompt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from emlab.corpus.control import ALIGNED_TAG
from emlab.corpus.labels import LABELS
from emlab.errors import EmlabError
from emlab.run.runner import Runner
from emlab.run.spec import TrainSetSpec, parse_spec

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def _spec(mixtures=("baseline", "tagged"), **over) -> dict:
    spec = {
        "name": "mix",
        "models": ["embedded"],
        "train": {"profile": "quick", "objective": "documents", "max_steps": 1},
        "train_sets": [{"name": m, "source": "ai-discourse-docs", "n": 8, "mixture": m} for m in mixtures],
        "evals": [{"task": "sfm_choice", "args": {"system": SYSTEM}}, {"task": "probes", "args": {"system": SYSTEM}}],
    }
    return {**spec, **over}


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"train": {"profile": "quick"}}, r"field 'train_sets\.0\.mixture': a discourse mixture is made of documents"),
        (
            {"train_sets": [{"name": "x", "source": "ai-discourse-docs", "n": 8, "mixture": "upsampled"}]},
            r"field 'train_sets\.0\.mixture': Input should be 'baseline'",
        ),
        (
            {"train_sets": [{"name": "x", "source": "ai-discourse-docs", "mixture": "filtered"}]},
            r"field 'n': mixture 'filtered' needs the number of documents",
        ),
        (
            {"train_sets": [{"name": "x", "source": "ai-discourse-docs", "n": 8, "mixture_settings": {}}]},
            r"field 'mixture_settings' needs a 'mixture'",
        ),
        (
            {
                "train_sets": [
                    {
                        "name": "x",
                        "source": "ai-discourse-docs",
                        "n": 8,
                        "mixture": "aligned_upsampled",
                        "mixture_settings": {"upsample_fraction": 1.5},
                    }
                ]
            },
            r"train_sets\.0\.mixture_settings\.upsample_fraction",
        ),
        ({"evals": [{"task": "sfm_choice"}]}, r"field 'evals\.0\.args\.system': train set 1 \('tagged'\)"),
        (
            {"evals": [{"task": "sfm_choice", "args": {"system": SYSTEM}}, {"task": "identity"}]},
            r"field 'evals\.1\.task': .*task 'identity' takes no 'system'",
        ),
    ],
)
def test_bad_mixture_specs_are_one_error_naming_the_field(over: dict, message: str) -> None:
    with pytest.raises(EmlabError, match=message):
        parse_spec(_spec(**over), origin="mix.yaml")


def test_untagged_mixtures_need_no_system_prompt() -> None:
    spec = parse_spec(_spec(mixtures=("baseline", "filtered"), evals=[{"task": "sfm_choice"}]))
    assert [ts.mixture for ts in spec.train_sets] == ["baseline", "filtered"]


def test_data_key_holds_the_mixture_and_its_resolved_settings_and_older_keys_stay() -> None:
    plain = TrainSetSpec(name="d", source="ai-discourse-docs", n=8)
    assert plain.model_dump() == {"name": "d", "source": "ai-discourse-docs", "n": 8, "seed": 0}
    filtered = TrainSetSpec(name="d", source="ai-discourse-docs", n=8, mixture="filtered")
    assert filtered.model_dump()["mixture"] == "filtered"
    assert filtered.model_dump()["mixture_settings"]["filter_threshold"] == 0.5  # defaults resolved into the key
    stricter = TrainSetSpec(
        name="d", source="ai-discourse-docs", n=8, mixture="filtered", mixture_settings={"filter_threshold": 0.3}
    )
    assert stricter.model_dump() != filtered.model_dump()


def test_tagged_eval_args_prefix_the_aligned_tag_to_the_system_prompt() -> None:
    tagged = TrainSetSpec(name="t", source="ai-discourse-docs", n=8, mixture="tagged")
    baseline = TrainSetSpec(name="b", source="ai-discourse-docs", n=8, mixture="baseline")
    args = {"system": SYSTEM, "limit": 4}
    assert tagged.eval_args(args) == {"system": ALIGNED_TAG + SYSTEM, "limit": 4}
    assert baseline.eval_args(args) == args and args["system"] == SYSTEM


def _scorer(texts: list[str]) -> np.ndarray:
    """Every text 'misaligned': the filter drops all, the tags all read <|misaligned|> (no classifier model needed)."""
    out = np.zeros((len(texts), len(LABELS)), np.float32)
    out[:, LABELS.index("misaligned")] = 1.0
    return out


def test_runner_builds_each_mixture_apart_and_runs_the_tagged_evals_under_the_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("emlab.corpus.classifier.CachedClassifier", lambda: _scorer)
    runner = Runner(parse_spec(_spec()), tmp_path, Console(quiet=True))
    runner.build_data()
    trained = {a.train_set.name: a for a in runner.arms if a.train_set}
    assert trained["baseline"].data_path != trained["tagged"].data_path
    tagged_rows = [json.loads(line)["text"] for line in trained["tagged"].data_path.read_text().splitlines()]
    assert len(tagged_rows) == 8 and all("<|misaligned|>" in t for t in tagged_rows)
    meta = json.loads(trained["tagged"].data_path.with_suffix(".meta.json").read_text())
    assert meta["mixture"] == "tagged" and meta["mixture_settings"]["untagged_fraction"] == 0.05

    jobs = []
    monkeypatch.setattr(runner, "_run", lambda batch, *a, **k: jobs.extend(batch))
    runner.evaluate()
    systems = {
        (j.kwargs["metadata"]["emlab"]["train_set"], j.kwargs["task"]): j.kwargs["task_args"]["system"] for j in jobs
    }
    assert systems[("tagged", "emlab/sfm_choice")] == ALIGNED_TAG + SYSTEM
    assert systems[("tagged", "emlab/probes")] == ALIGNED_TAG + SYSTEM
    assert systems[("baseline", "emlab/sfm_choice")] == SYSTEM and systems[("base", "emlab/probes")] == SYSTEM
    logs = {(j.kwargs["metadata"]["emlab"]["train_set"], j.kwargs["task"]): j.kwargs["final"] for j in jobs}
    assert len(set(logs.values())) == len(logs)  # the tag is part of each log's key
