"""Experiment specs: ``emlab run SPEC.yaml``.

A spec is a grid — base models × training sets × conditions × seeds — plus the untouched
base models, and a list of evals run on every model::

    name: quickstart
    models: [embedded]
    include_base: true
    seeds: [0]
    train: {profile: quick, max_steps: 20}           # any TrainConfig field overrides the profile
    train_sets:
      - {name: insecure, source: insecure-code, n: 240}
      - {name: secure,   source: secure-code,   n: 240}
    conditions:
      - {name: none}
      - {name: inoculated, condition: inoculation, text: evil, apply_to: [insecure]}
    evals:
      - {task: freeform, args: {samples_per_paraphrase: 2, max_tokens: 120}}
      # + max_connections: 1 for answers that are the same token for token in every run (slower)
    judge: embedded                                   # or an Inspect model string
    executor: {kind: local}                           # or {kind: ray, gpus_per_job: 1}: see emlab.run.executor

``source`` is anything :func:`emlab.data.build_training_set` accepts: a generator name, a
JSONL path, a URL or a Hugging Face dataset id. A spec with ``kind: pretraining`` is the
self-fulfilling-misalignment testbed (:mod:`emlab.corpus.testbed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from emlab._io import read_yaml
from emlab.errors import EmlabError, format_validation_error
from emlab.run.executor import ExecutorSpec


class TrainSetSpec(BaseModel):
    """A narrow training set: where its rows come from."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    source: str
    n: int | None = Field(None, ge=1)
    seed: int = 0


class ConditionSpec(BaseModel):
    """A training condition applied to training sets (``none``, ``inoculation``, ...)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    condition: str = "none"
    text: str | None = None
    apply_to: list[str] | None = None


class EvalSpec(BaseModel):
    """One Inspect task (an ``emlab/<task>`` name or any registered task) with task args."""

    model_config = ConfigDict(extra="forbid")
    task: str
    args: dict[str, Any] = Field(default_factory=dict)
    max_connections: int | None = Field(
        None,
        ge=1,
        description="Inspect's max_connections: concurrent generate calls, and the batch size of the emlab/ and hf/ providers. "
        "1 generates every answer alone: the same answers token for token in every run, but slower (see README)",
    )

    @model_validator(mode="after")
    def _known_task_and_args(self) -> EvalSpec:
        from emlab.evals import inspect_task_name

        try:
            inspect_task_name(self.task, self.args)
        except EmlabError as e:
            raise ValueError(str(e)) from None
        return self


class ExperimentSpec(BaseModel):
    """The whole experiment; every artifact is keyed by a hash of the part of it that made it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str = "finetune"
    models: list[str] = Field(min_length=1)
    include_base: bool = True
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)
    train_sets: list[TrainSetSpec] = Field(default_factory=list)
    conditions: list[ConditionSpec] = Field(default_factory=lambda: [ConditionSpec(name="none")])
    evals: list[EvalSpec] = Field(min_length=1)
    judge: str = "embedded"
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v != "finetune":
            raise ValueError("kind must be 'finetune' here ('pretraining' specs go to the corpus testbed)")
        return v

    @model_validator(mode="after")
    def _references(self) -> ExperimentSpec:
        names = {t.name for t in self.train_sets}
        if len(names) != len(self.train_sets):
            raise ValueError("train_sets names must be unique")
        if len({c.name for c in self.conditions}) != len(self.conditions):
            raise ValueError("conditions names must be unique")
        for c in self.conditions:
            for ref in c.apply_to or []:
                if ref not in names:
                    raise ValueError(f"condition '{c.name}' applies to unknown train set '{ref}'")
        return self


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a spec YAML into a dict; errors name the file and line."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise EmlabError(f"{path}: a spec must be a YAML mapping")
    return data


def parse_spec(data: dict[str, Any], origin: str = "spec") -> ExperimentSpec:
    """Validate a finetune-experiment spec dict; errors name the field."""
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as e:
        raise EmlabError(f"{origin}: {format_validation_error(e)}") from None
