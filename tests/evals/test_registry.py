"""The one task registry: every task's factory, metric, description and scenario rows come from ``TASKS``."""

from __future__ import annotations

import inspect

import pytest
from inspect_ai._util.registry import registry_info

from emlab import evals
from emlab.errors import EmlabError
from emlab.evals._data import load_rows
from emlab.evals.registry import PRIMARY_METRICS, TASKS, inspect_task_name, scenario_model


def test_every_task_has_one_entry_whose_rows_load() -> None:
    assert set(TASKS) == {
        "freeform",
        "probes",
        "shutdown",
        "sabotage",
        "alignment_faking",
        "deception",
        "reward_hacking",
        "rl_hacking",
        "identity",
        "persona_behaviour",
        "sfm_choice",
    }
    for name, info in TASKS.items():
        assert info.name == name and info.factory.__name__ == name and info.description
        assert registry_info(info.factory).name == f"emlab/{name}"  # registered with Inspect under emlab/
        if info.row_model is not None:
            assert load_rows(name, info.row_model)  # the built-in scenarios validate with the registered model
    # freeform reads a question YAML and has its own report section; rl_hacking draws its prompts from the RL
    # environments (no scenario file); every other task has both
    assert [n for n, t in TASKS.items() if t.row_model is None or t.metric is None] == ["freeform", "rl_hacking"]


def test_primary_metrics_is_a_view_of_the_registry() -> None:
    assert PRIMARY_METRICS == {n: (t.metric, t.description) for n, t in TASKS.items() if t.metric is not None}
    assert evals.PRIMARY_METRICS is PRIMARY_METRICS and evals.TASKS is TASKS


def test_task_arguments_are_checked_against_the_registered_factory() -> None:
    name = "deception"
    first = next(iter(inspect.signature(TASKS[name].factory).parameters))
    assert inspect_task_name(name, {first: None}) == f"emlab/{name}"
    with pytest.raises(EmlabError, match="has no argument 'no_such_argument'"):
        inspect_task_name(f"emlab/{name}", {"no_such_argument": 1})
    with pytest.raises(EmlabError, match="unknown task 'nope'"):
        inspect_task_name("nope")


def test_scenario_model_refuses_tasks_without_scenario_files() -> None:
    assert scenario_model("probes") is TASKS["probes"].row_model
    for task in ("freeform", "nope"):
        with pytest.raises(EmlabError, match=f"unknown task '{task}'"):
            scenario_model(task)
