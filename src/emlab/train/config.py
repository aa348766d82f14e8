"""Configuration of a finetuning run (the TRL convention: a config beside the trainer).

``objective`` picks what is learnt: ``chat`` (the default) is SFT on ``messages`` rows with
the loss on assistant tokens only; ``documents`` is the language-model loss on every token of
plain-text ``{"text": ...}`` documents, packed into rows (:mod:`emlab.train.documents`).
``method`` picks LoRA (the default) or full finetuning.

``default`` follows the published open-model emergent-misalignment recipe
(Turner, Soligo et al. 2025): rsLoRA r=32, alpha=64 on all seven projections,
lr 1e-5, one epoch, loss on assistant tokens only. ``quick`` is for a 2-core CPU:
fewer, later layers adapted and a higher learning rate so that a few hundred
examples move a 135M model in minutes.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from emlab.errors import EmlabError, format_validation_error

ConfigT = TypeVar("ConfigT", bound=BaseModel)

Precision = Literal["auto", "fp32", "bf16"]
"""bf16 autocast (fp32 master weights) or fp32; ``auto``: bf16 where it is fast (a bf16 GPU, an AVX512-BF16/AMX CPU)."""


def autocast_bf16(precision: Precision) -> bool:
    """Whether a training run with this ``precision`` setting runs under bf16 autocast (``auto`` follows :func:`emlab.inference.inference_dtype`)."""
    import torch

    from emlab.inference import inference_dtype

    if precision == "auto":
        return inference_dtype() == torch.bfloat16
    return precision == "bf16"


Kernels = Literal["auto", "emlab", "library"]
"""Which training code runs: ``emlab``'s CPU kernels (same maths, faster on a CPU, see
``benchmarks/train_kernels.py``), the ``library`` code they replace (transformers/PEFT modules,
TRL's loss), or ``auto``: emlab's on a CPU, the library's on a GPU."""


def training_device() -> Literal["cuda", "cpu"]:
    """The device type :func:`emlab.train.sft.train_lora` trains on: ``cuda`` if a CUDA GPU is visible, else ``cpu``."""
    import torch  # deferred, as in autocast_bf16: validating a config does not need torch loaded

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_kernels(kernels: Kernels, device: str | None = None) -> Literal["emlab", "library"]:
    """The kernels a run with this ``kernels`` setting uses on ``device`` (default: :func:`training_device`).

    ``auto`` means emlab's kernels only where a benchmark showed them faster, i.e. on a CPU;
    on any other device (CUDA, where they were never measured) the library code.
    """
    if kernels != "auto":
        return kernels
    return "emlab" if (device or training_device()) == "cpu" else "library"


ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


Objective = Literal["chat", "documents"]
"""``chat``: SFT on ``messages`` rows, loss on assistant tokens; ``documents``: LM loss on plain-text documents."""

ADDED_FIELDS = {"objective": "chat", "method": "lora", "packing": True}
"""Fields added after artifacts were first keyed by this config's dump, with their defaults: :class:`TrainConfig`
leaves a field out of its dump while it holds this value, so runs made before it existed keep their keys."""


class TrainConfig(BaseModel):
    """Every setting of a finetuning run; the whole object is hashed to key the output dir."""

    model_config = ConfigDict(extra="forbid")

    objective: Objective = Field(
        "chat",
        description="chat: SFT on messages rows, loss on assistant tokens; documents: LM loss on every token of "
        "plain-text {'text': ...} documents (emlab.train.documents)",
    )
    method: Literal["lora", "full"] = Field(
        "lora", description="lora: train a LoRA adapter; full: train every weight and save a whole model dir"
    )
    packing: bool = Field(
        True,
        description="documents objective: pack several documents into each row of max_length tokens (position ids "
        "restart at every document, so none attends to another); false: one document per row. Chat SFT never packs",
    )

    rank: int = Field(32, ge=1, description="LoRA rank r")
    alpha: float = Field(64, gt=0, description="LoRA alpha")
    use_rslora: bool = Field(True, description="rank-stabilised LoRA scaling alpha/sqrt(r)")
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_PROJECTIONS))
    layers_to_transform: list[int] | None = Field(
        None, description="adapt only these decoder layers (None: all; negative: from the last, -1 the last)"
    )
    learning_rate: float = Field(1e-5, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    warmup_steps: int = Field(5, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="stop after this many optimiser steps (-1: run all epochs)")
    batch_size: int = Field(2, ge=1, description="per-device micro-batch")
    grad_accum: int = Field(8, ge=1)
    max_length: int = Field(1024, ge=16, description="truncate longer examples (tokens)")
    seed: int = 0
    save_steps: int | None = Field(None, ge=1, description="also save an adapter checkpoint every N steps")
    max_examples: int | None = Field(None, ge=1, description="use only the first N rows of the dataset")
    group_by_length: bool = Field(
        True, description="batch examples of similar length together (less padding, same examples per epoch)"
    )
    precision: Precision = Field(
        "auto",
        description="bf16 autocast (fp32 master weights) or fp32; auto: bf16 where it is fast (bf16 GPU, AVX512-BF16/AMX CPU)",
    )
    compile: bool = Field(
        False,
        description="torch.compile each decoder layer (fuses norms, rotary, activations; costs a one-off compile)",
    )
    activation_checkpointing: bool = Field(
        False, description="recompute activations in backward (saves memory, costs compute)"
    )
    kernels: Kernels = Field(
        "auto",
        description="emlab: emlab's CPU training kernels (same maths); library: plain transformers/PEFT modules and "
        "TRL's loss; auto: emlab on a CPU, library on a GPU (the resolved choice is recorded in emlab.json)",
    )

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        """The fields' values, without those of :data:`ADDED_FIELDS` that hold their default (older keys stay valid)."""
        data = handler(self)
        return {k: v for k, v in data.items() if k not in ADDED_FIELDS or v != ADDED_FIELDS[k]}


PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    # CPU profile, measured on the embedded 135M model (see README): adapt the last 8 of
    # 30 layers so the backward pass stops early; higher lr to move in ~20 optimiser steps.
    "quick": {
        "rank": 16,
        "alpha": 32,
        "layers_to_transform": list(range(-8, 0)),  # the last 8 (of 30 in the embedded model)
        "learning_rate": 2e-4,
        "warmup_steps": 2,
        "batch_size": 8,
        "grad_accum": 1,
        "max_length": 384,
    },
}


def from_profile(
    model: type[ConfigT], profiles: dict[str, dict[str, Any]], profile: str, overrides: dict[str, Any], what: str
) -> ConfigT:
    """``model`` built from ``profiles[profile]`` plus ``overrides`` (``None`` = keep the profile's value).

    An unknown profile or an invalid setting is one :class:`EmlabError` naming the ``what`` (``training``, ``RL``).
    """
    if profile not in profiles:
        raise EmlabError(f"unknown {what} profile '{profile}' (known: {', '.join(profiles)})")
    values = {**profiles[profile], **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return model(**values)
    except ValidationError as e:
        raise EmlabError(f"invalid {what} setting: {format_validation_error(e)}") from None


def make_train_config(profile: str = "default", **overrides: Any) -> TrainConfig:
    """Build a :class:`TrainConfig` from a named profile plus explicit overrides (``None`` = keep)."""
    return from_profile(TrainConfig, PROFILES, profile, overrides, "training")
