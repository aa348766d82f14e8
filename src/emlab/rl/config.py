"""Configuration of an RL run (GRPO with LoRA on the hackable environments), beside the trainer.

One :class:`RLConfig` holds every setting that changes what a run learns: the environments and
grader, the prompt condition (``none`` / ``inoculation`` / ``anti-hack`` and the knowledge-stage
hint), the LoRA adapter, GRPO's group size and KL coefficient ``beta``, sampling, seed and
checkpointing. :func:`run_key` hashes it together with the condition's exact text, the way
SFT datasets record their condition, so a run directory belongs to exactly one setting.

``default`` is a GRPO recipe for any model (KL ``beta`` 0.04, 8 generations per prompt);
``quick`` is for the embedded 135M model on a 2-core CPU: the last 8 decoder layers adapted,
a higher learning rate, 4 generations of at most 48 tokens.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from emlab._io import config_hash, read_yaml
from emlab.errors import EmlabError
from emlab.rl.conditions import CONDITIONS, PromptCondition, prompt_condition
from emlab.rl.env import Grader
from emlab.rl.registry import ENVIRONMENTS
from emlab.train.config import ALL_PROJECTIONS, Precision, from_profile

Rollout = Literal["emlab", "trl", "vllm"]
"""Who generates the rollouts: ``emlab`` (a bf16-where-fast copy of the policy with the adapter merged,
decoded by :func:`emlab.inference.fast_generate`), ``trl`` (TRL's own ``model.generate`` path) or
``vllm`` (a vLLM server that loads the adapter every step: :mod:`emlab.rl.vllm_rollout`)."""


class RLConfig(BaseModel):
    """Every setting of an RL run; the whole object (with the condition's text) keys the run dir."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("embedded", description="model reference (see emlab.models)")
    envs: list[str] = Field(default_factory=lambda: ["text-keyword"], min_length=1, description="environment families")
    grader: Grader = Field("vulnerable", description="vulnerable (the RL arms) or secure (the control arm)")
    condition: str = Field("none", description="RL prompt condition: none, inoculation or anti-hack")
    condition_text: str | None = Field(None, description="a preset name of the condition or a custom sentence")
    hint: bool = Field(False, description="knowledge stage: describe the family's hack in the system prompt")
    prompts_per_env: int = Field(200, ge=1, description="prompts drawn per environment (train split of the run)")
    prompt_seed: int = Field(0, description="seed of the prompt draw")
    prompts_per_step: int = Field(4, ge=1, description="distinct prompts per optimiser step")
    generations: int = Field(8, ge=2, description="completions per prompt (the GRPO group)")
    max_new_tokens: int = Field(256, ge=1, description="longest completion (tokens)")
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = Field(0, ge=0, description="0: no top-k filter")
    max_steps: int = Field(100, ge=1, description="optimiser steps (one rollout batch each)")
    learning_rate: float = Field(1e-5, gt=0)
    beta: float = Field(0.04, ge=0, description="KL coefficient to the reference model (the base, adapter off)")
    epsilon: float = Field(0.2, gt=0, description="PPO-style clipping range")
    scale_rewards: Literal["group", "batch", "none"] = "group"
    rank: int = Field(16, ge=1, description="LoRA rank r")
    alpha: float = Field(32, gt=0, description="LoRA alpha")
    use_rslora: bool = True
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_PROJECTIONS))
    layers_to_transform: list[int] | None = Field(
        None, description="adapt only these decoder layers (None: all; negative: from the last, -1 the last)"
    )
    seed: int = 0
    save_steps: int = Field(10, ge=1, description="checkpoint every K steps (a run resumes from the last one)")
    rollout: Rollout = "emlab"
    precision: Precision = "auto"
    score_timeout_s: float = Field(120.0, gt=0, description="per completion: grading code that runs longer hangs")
    score_workers: int = Field(4, ge=1, description="completions scored concurrently")

    @field_validator("envs")
    @classmethod
    def _known_envs(cls, envs: list[str]) -> list[str]:
        unknown = [e for e in envs if e not in ENVIRONMENTS]
        if unknown:
            raise ValueError(f"unknown RL environment '{unknown[0]}'; choose from: {', '.join(ENVIRONMENTS)}")
        if len(set(envs)) != len(envs):
            raise ValueError("an environment is listed twice")
        return envs

    @field_validator("condition")
    @classmethod
    def _known_condition(cls, name: str) -> str:
        if name not in CONDITIONS:
            raise ValueError(f"unknown RL prompt condition '{name}'; choose one of: {', '.join(CONDITIONS)}")
        return name

    @field_validator("prompts_per_step")
    @classmethod
    def _enough_prompts(cls, n: int, info: ValidationInfo) -> int:
        per_env, envs = info.data.get("prompts_per_env"), info.data.get("envs")  # absent when themselves invalid
        if per_env is not None and envs is not None and per_env * len(envs) < n:
            raise ValueError(f"{n} exceeds the run's prompts ({per_env} per environment x {len(envs)})")
        return n

    def prompt_condition(self) -> PromptCondition:
        """The resolved condition (exact text, preset, hint) this run puts in every system prompt."""
        return prompt_condition(self.condition, self.condition_text, self.hint)


PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    # The embedded 135M model on a 2-core CPU: adapt the last 8 of 30 layers (the backward pass stops
    # early), short completions, small groups, a learning rate that moves the policy in tens of steps.
    "quick": {
        "layers_to_transform": list(range(-8, 0)),  # the last 8 (of 30 in the embedded model)
        "learning_rate": 2e-4,
        "prompts_per_step": 2,
        "generations": 4,
        "max_new_tokens": 48,
        "max_steps": 30,
        "save_steps": 5,
    },
}


def make_rl_config(profile: str = "default", **overrides: Any) -> RLConfig:
    """An :class:`RLConfig` from a named profile plus explicit overrides (``None`` = keep the profile's)."""
    config = from_profile(RLConfig, PROFILES, profile, overrides, "RL")
    config.prompt_condition()  # 'none' with a text is refused here, not at step 1
    return config


def load_rl_config(path: str | Path, profile: str | None = None, **overrides: Any) -> RLConfig:
    """An :class:`RLConfig` from a YAML file (its ``profile:`` key, or ``profile``), then ``overrides``; errors name the file."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EmlabError(f"{path}: an RL config must be a mapping of settings, not {type(data).__name__}")
    profile = profile or data.pop("profile", "default")
    data.pop("profile", None)
    try:
        return make_rl_config(str(profile), **{**data, **{k: v for k, v in overrides.items() if v is not None}})
    except EmlabError as e:
        raise EmlabError(f"{path}: {e}") from None


def run_record(config: RLConfig) -> dict[str, Any]:
    """What keys and describes a run: the settings and the condition as recorded (name, preset, exact text, hint)."""
    return {"rl_config": config.model_dump(), "condition": config.prompt_condition().record()}


def row_seed(seed: int, step: int, row: int) -> int:
    """The sampling seed of one rollout row: a hash of the run's seed, the step and the row (below 2**63).

    Every rollout path seeds each row with it, so a resumed run samples what an uninterrupted one would.
    """
    digest = hashlib.sha256(f"emlab-rl|{seed}|{step}|{row}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def run_key(config: RLConfig) -> str:
    """The run's config hash (:func:`emlab._io.config_hash` of :func:`run_record`)."""
    return config_hash(run_record(config))
