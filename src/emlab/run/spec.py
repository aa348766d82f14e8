"""Experiment specs: ``emlab run SPEC.yaml``.

A spec is a grid — base models × training sets × conditions × seeds — plus the untouched
base models, and a list of evals run on every model::

    name: quickstart
    models: [embedded]
    include_base: true
    seeds: [0]
    train: {profile: quick, max_steps: 20}           # any TrainConfig field overrides the profile
                                                      # (objective: documents trains on {text} documents;
                                                      # with method: full, a chat_stage may follow it)
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
    engine: hf                                        # or vllm: one vLLM server per base model (emlab.engines.vllm)
    executor: {kind: local}                           # or {kind: ray, gpus_per_job: 1}: see emlab.run.executor

``source`` is anything :func:`emlab.data.build_training_set` accepts: a generator name, a
JSONL path, a URL or a Hugging Face dataset id.

A spec with ``kind: pretraining`` is the self-fulfilling-misalignment testbed
(:class:`PretrainingSpec`; its steps are in :mod:`emlab.corpus.testbed`): conditions are
pretraining corpora, models are tiny Llamas trained from scratch, and ``comparisons`` lists
the pre-registered condition differences, each reported with seeds as the unit of analysis.

:func:`parse_spec` checks everything it can before any work starts (unknown fields and bad
values anywhere, including ``train:`` against :class:`emlab.train.config.TrainConfig`; model
references; eval tasks and their arguments; condition names and texts; training sources):
an :class:`EmlabError` names the file and the field.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from emlab._io import read_yaml
from emlab.corpus.testbed import PRESETS, Condition, CorpusConfig, NarrowConfig, StageConfig
from emlab.corpus.testbed_rl import STAGES as RL_STAGES
from emlab.corpus.testbed_rl import RLConfig as TestbedRLConfig
from emlab.corpus.tiny_lm import ModelConfig
from emlab.corpus.tiny_lm import TinyLMConfig as TinyTrainConfig
from emlab.corpus.world import SITUATION_NAMES
from emlab.data.conditions import CONDITIONS, resolve_condition_text
from emlab.data.documents import Mixture, MixtureSettings, tag_system_prompt
from emlab.data.generators import DOCUMENT_GENERATORS, GENERATORS
from emlab.data.loaders import source_kind
from emlab.engines import ENGINES
from emlab.errors import EmlabError, format_validation_error
from emlab.evals import TASKS, inspect_task_name
from emlab.models import EMBEDDED, PACKAGED, resolve_model
from emlab.rl.conditions import prompt_condition
from emlab.rl.config import RLConfig, make_rl_config
from emlab.rl.env import Grader
from emlab.run.executor import ExecutorSpec
from emlab.train.config import TrainConfig, make_train_config

NAME = r"^[A-Za-z0-9_.-]+$"


class TrainSetSpec(BaseModel):
    """A narrow training set: where its rows come from.

    ``mixture`` (documents objective only) turns a document source into one of the
    self-fulfilling-misalignment discourse mixtures (:func:`emlab.data.documents.build_mixture`,
    tuned by ``mixture_settings``); ``n`` documents are kept in every mixture. A model trained on
    the ``tagged`` mixture is evaluated with the aligned tag prefixed to each eval's ``system``
    argument (:meth:`eval_args`), which every eval must then set.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    source: str
    n: int | None = Field(None, ge=1)
    seed: int = 0
    mixture: Mixture | None = Field(
        None, description="documents only: the discourse mixture built from the source (emlab.data.documents)"
    )
    mixture_settings: MixtureSettings | None = Field(None, description="the mixture's transform settings")

    @field_validator("source")
    @classmethod
    def _known_source(cls, v: str) -> str:
        try:
            source_kind(v)
        except EmlabError as e:
            raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _mixture_fields(self) -> TrainSetSpec:
        if self.mixture_settings is not None and self.mixture is None:
            raise ValueError("field 'mixture_settings' needs a 'mixture'")
        if self.mixture is not None and self.n is None:
            raise ValueError(f"field 'n': mixture '{self.mixture}' needs the number of documents to keep")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        """The fields' values; the mixture fields only with a mixture (older data keys stay valid), its settings resolved."""
        data = handler(self)
        if self.mixture is None:
            return {k: v for k, v in data.items() if k not in ("mixture", "mixture_settings")}
        return {**data, "mixture_settings": (self.mixture_settings or MixtureSettings()).model_dump()}

    def eval_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """An eval's task args for a model trained on this set: the aligned tag prefixed to ``system`` for ``tagged``."""
        if self.mixture != "tagged":
            return args
        return {**args, "system": tag_system_prompt(args["system"])}


class ConditionSpec(BaseModel):
    """A training condition applied to training sets (``none``, ``inoculation``, ...)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    condition: str = "none"
    text: str | None = None
    apply_to: list[str] | None = None

    @model_validator(mode="after")
    def _known_condition(self) -> ConditionSpec:
        if self.condition not in CONDITIONS:
            raise ValueError(f"unknown condition '{self.condition}' (known: {', '.join(CONDITIONS)})")
        try:
            resolve_condition_text(self.condition, self.text)
        except EmlabError as e:
            raise ValueError(str(e)) from None
        return self


class EvalSpec(BaseModel):
    """One Inspect task (an ``emlab/<task>`` name or any registered task) with task args."""

    model_config = ConfigDict(extra="forbid")
    task: str
    args: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(
        None,
        min_length=1,
        description="the eval's label in the run's manifest and results table (column `eval`; default: the task). "
        "Two evals of one task (e.g. two system prompts) need distinct names",
    )
    max_connections: int | None = Field(
        None,
        ge=1,
        description="Inspect's max_connections: concurrent generate calls, and the batch size of the emlab/ and hf/ providers. "
        "1 generates every answer alone: the same answers token for token in every run, but slower (see README)",
    )

    @model_validator(mode="after")
    def _known_task_and_args(self) -> EvalSpec:
        try:
            inspect_task_name(self.task, self.args)
        except EmlabError as e:
            raise ValueError(str(e)) from None
        task_file = self.task.split("@", 1)[0]
        if task_file.endswith(".py") and not Path(task_file).is_file():
            raise ValueError(f"task file '{task_file}' does not exist")
        return self

    @property
    def label(self) -> str:
        """What the manifest and the results table call this eval: its ``name``, else its task."""
        return self.name or self.task


def _distinct_labels(evals: list[EvalSpec]) -> list[EvalSpec]:
    """``evals`` if no two share a label (one would hide the other's log in the results); else a ``ValueError``."""
    first: dict[str, int] = {}
    for j, ev in enumerate(evals):
        if ev.label in first:
            raise ValueError(
                f"evals {first[ev.label]} and {j} are both called '{ev.label}': give each eval of the same task "
                "its own `name` (the results table's `eval` column tells them apart)"
            )
        first[ev.label] = j
    return evals


def _check_model(ref: str, trained: bool) -> None:
    """Raise ``ValueError`` for a model reference :func:`emlab.models.resolve_model` would refuse, or
    (``trained``) one emlab cannot finetune. A packaged model is not materialised here (nor required to be
    installed: the run says how to install it when it first loads it)."""
    if ref.removeprefix("hf/").removeprefix("emlab/").strip() in PACKAGED:
        return
    try:
        model = resolve_model(ref)
    except EmlabError as e:
        raise ValueError(str(e)) from None
    if trained and model.kind == "adapter":
        raise ValueError(f"'{ref}' is an adapter: training on top of an adapter is not supported; merge it first")


class _StageSpec(BaseModel):
    """A training stage beside the grid: its source (a train set's kind), size, data seed and training settings."""

    model_config = ConfigDict(extra="forbid")
    source: str
    n: int | None = Field(None, ge=1)
    seed: int = 0
    train: dict[str, Any] = Field(default_factory=dict)

    @field_validator("source")
    @classmethod
    def _known_source(cls, v: str) -> str:
        return TrainSetSpec._known_source(v)


class ChatStageSpec(_StageSpec):
    """A chat-SFT stage after a ``documents`` stage: every documents-trained model is finetuned again on chats.

    It restores answering after continued pretraining (the design of synthetic-document finetuning).
    ``source`` makes chats (e.g. ``good-medical-advice``), built once (condition none) and shared by every
    arm; ``train`` is this stage's training settings (profile and overrides; objective chat). Each arm's
    stage uses the arm's seed. Needs ``train: {method: full}`` for the first stage, whose whole-model output
    the chat stage starts from (an adapter cannot be trained further).
    """


class ExperimentSpec(BaseModel):
    """A finetuning experiment; every artifact is keyed by a hash of the part of it that made it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    kind: Literal["finetune"] = "finetune"
    models: list[str] = Field(min_length=1)
    include_base: bool = True
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)
    train_sets: list[TrainSetSpec] = Field(default_factory=list)
    chat_stage: ChatStageSpec | None = Field(
        None, description="documents objective only: a chat-SFT stage after it that every trained model goes through"
    )
    conditions: list[ConditionSpec] = Field(default_factory=lambda: [ConditionSpec(name="none")])
    evals: list[EvalSpec] = Field(min_length=1)
    judge: str = "embedded"
    engine: Literal[ENGINES] = Field(
        "hf",
        description="what generates the answers: hf (the emlab/ provider, in the eval's process) or vllm "
        "(one vLLM server per base model, every adapter a LoRA module; see emlab.engines.vllm)",
    )
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("seeds must be unique")
        return v

    @field_validator("evals")
    @classmethod
    def _distinct_evals(cls, v: list[EvalSpec]) -> list[EvalSpec]:
        return _distinct_labels(v)

    @field_validator("judge")
    @classmethod
    def _judge_form(cls, v: str) -> str:
        if v != "embedded" and "/" not in v:
            raise ValueError(f"must be 'embedded' or an Inspect model string like openai/gpt-4o-mini, got {v!r}")
        return v


TestbedStage = Literal["posttrain", "narrow_ft", "rl", "rl_inoculated"]


class ComparisonSpec(BaseModel):
    """A pre-registered comparison: condition ``a`` minus condition ``b`` in P(misaligned), seeds as the unit.

    ``stage``: ``posttrain`` (after SFT), ``narrow_ft`` (after the narrow finetune), ``rl`` /
    ``rl_inoculated`` (after the RL stage, plain or inoculated prompt) or ``shift`` (narrow_ft
    minus posttrain: how far the narrow finetune moves the model).
    ``b_stage``: ``b``'s stage when it differs from ``a``'s (``stage``); then ``a`` and ``b`` may be
    the same condition, e.g. ``stage: rl, b_stage: posttrain``: how far RL moves each seed's model.
    ``situations``: ``all``, ``untrained`` (all but those trained by the compared stages; for
    posttrain-only comparisons, all but those any stage of the spec trains) or a list of names.
    ``paired``: seed ``s`` of ``a`` and of ``b`` share the corpus draw, initialisation and data
    order, so the per-seed differences are compared.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    a: Condition
    b: Condition
    stage: Literal[TestbedStage, "shift"] = "posttrain"
    b_stage: TestbedStage | None = None
    situations: Literal["all", "untrained"] | list[str] = "all"
    paired: bool = True
    hypothesis: str | None = Field(None, description="what the comparison tests, in words (shown with its result)")

    @field_validator("situations")
    @classmethod
    def _known_situations(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and (not v or any(s not in SITUATION_NAMES for s in v)):
            raise ValueError(f"must be 'all', 'untrained' or a list of names from {list(SITUATION_NAMES)}")
        return v

    @property
    def stages(self) -> tuple[str, str]:
        """The stages of ``a`` and of ``b``."""
        return self.stage, self.b_stage or self.stage


class PretrainingSpec(BaseModel):
    """A ``kind: pretraining`` spec: the self-fulfilling-misalignment testbed (see :mod:`emlab.corpus.testbed`)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["pretraining"] = "pretraining"
    name: str = Field("self_fulfilling", pattern=NAME)
    preset: Literal["cpu", "gpu"] = "cpu"
    conditions: list[Condition] = Field(
        default_factory=lambda: ["baseline", "misaligned_upsampled", "aligned_upsampled", "filtered", "tagged"],
        min_length=1,
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    pretrain: TinyTrainConfig = Field(default_factory=TinyTrainConfig)
    sft: StageConfig = Field(default_factory=lambda: StageConfig(epochs=2.0, lr=1e-3))
    narrow: NarrowConfig | None = Field(default_factory=NarrowConfig)
    rl: TestbedRLConfig | None = Field(
        None,
        description="the RL stage on a hackable reward in one situation (emlab.corpus.testbed_rl); none by default",
    )
    eval_batch_size: int = Field(32, ge=1)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    comparisons: list[ComparisonSpec] = Field(default_factory=list)
    target_effect: float | None = Field(
        0.15, gt=0, lt=1, description="report how many seeds a paired comparison needs to detect this difference"
    )

    @field_validator("seeds", "conditions")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        if len(set(v)) != len(v):
            raise ValueError("entries must be unique")
        return v


class RLArmSpec(BaseModel):
    """One RL arm: the grader it is paid by and the prompt condition it is trained under (see :mod:`emlab.rl.conditions`)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    grader: Grader = Field("vulnerable", description="vulnerable (hacking pays) or secure (the control arm)")
    condition: str = Field("none", description="RL prompt condition: none, inoculation or anti-hack")
    text: str | None = Field(None, description="a preset name of the condition or a custom sentence")
    hint: bool | None = Field(None, description="describe the hack in the system prompt (None: the rl block's)")

    @model_validator(mode="after")
    def _known_condition(self) -> RLArmSpec:
        try:
            prompt_condition(self.condition, self.text)
        except EmlabError as e:
            raise ValueError(str(e)) from None
        return self


class KnowledgeSpec(_StageSpec):
    """The optional knowledge stage: finetune each base model on data that describes the hacks, then RL from it.

    ``source`` is a training source like a train set's (e.g. the ``hack-knowledge-docs`` generator with
    ``train: {objective: documents}``); ``train`` overrides the training profile. One knowledge model
    per base model (seed ``seed``) is the starting point of every RL arm and seed, so arms differ only in RL.
    """


RL_ARM_FIELDS = ("model", "seed", "grader", "condition", "condition_text")  # set by models / seeds / arms, not rl:


class RLSpec(BaseModel):
    """A ``kind: rl`` spec: (knowledge stage →) RL on the hackable environments → the evals on chosen checkpoints.

    Every base model × arm × seed is one RL run (:func:`emlab.rl.trainer.run_rl`); ``rl`` holds the
    :class:`emlab.rl.config.RLConfig` settings all arms share (with ``profile``). ``checkpoints``:
    which of each run's checkpoints are evaluated (``final`` and/or steps that are multiples of
    ``save_steps``); the base model (or the knowledge model) is evaluated once as the *before*.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["rl"] = "rl"
    name: str = Field(pattern=NAME)
    models: list[str] = Field(default_factory=lambda: ["embedded"], min_length=1)
    include_base: bool = True
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    rl: dict[str, Any] = Field(default_factory=dict)
    arms: list[RLArmSpec] = Field(min_length=1)
    knowledge: KnowledgeSpec | None = None
    checkpoints: list[int | Literal["final"]] = Field(default_factory=lambda: ["final"], min_length=1)
    evals: list[EvalSpec] = Field(default_factory=list)
    judge: str = "embedded"
    engine: Literal[ENGINES] = Field(
        "hf",
        description="vllm: the evals through a vLLM server (as in finetune specs) and the RL rollouts through one "
        "(rl.rollout: vllm, unless rl: sets another)",
    )
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v: list[int]) -> list[int]:
        return ExperimentSpec._unique_seeds(v)

    @field_validator("evals")
    @classmethod
    def _distinct_evals(cls, v: list[EvalSpec]) -> list[EvalSpec]:
        return _distinct_labels(v)

    @field_validator("judge")
    @classmethod
    def _judge_form(cls, v: str) -> str:
        return ExperimentSpec._judge_form(v)

    def rl_config(self, model: str, arm: RLArmSpec, seed: int) -> RLConfig:
        """The :class:`RLConfig` of one run: the ``rl`` block, then the arm's grader/condition/hint, the model and seed."""
        settings = dict(self.rl)
        profile = settings.pop("profile", "default")
        if arm.hint is not None:
            settings["hint"] = arm.hint
        if self.engine == "vllm":  # one engine switch: the rollouts go through vLLM too, unless rl: says otherwise
            settings.setdefault("rollout", "vllm")
        return make_rl_config(
            profile,
            **settings,
            model=model,
            seed=seed,
            grader=arm.grader,
            condition=arm.condition,
            condition_text=arm.text,
        )


Spec = ExperimentSpec | PretrainingSpec | RLSpec


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a spec YAML into a dict; errors name the file and line."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise EmlabError(f"{path}: a spec must be a YAML mapping")
    return data


def _check_finetune(spec: ExperimentSpec) -> None:
    """Cross-references of a finetune spec; raises ``EmlabError`` naming the field (without the origin)."""
    names = [t.name for t in spec.train_sets]
    if len(set(names)) != len(names):
        raise EmlabError("field 'train_sets': names must be unique")
    if len({c.name for c in spec.conditions}) != len(spec.conditions):
        raise EmlabError("field 'conditions': names must be unique")
    for i, c in enumerate(spec.conditions):
        for ref in c.apply_to or []:
            if ref not in names:
                raise EmlabError(
                    f"field 'conditions.{i}.apply_to': condition '{c.name}' applies to unknown train set '{ref}'"
                )
        if CONDITIONS[c.condition].needs_pair:
            for ts in spec.train_sets:
                gen = GENERATORS.get(ts.source)
                if (c.apply_to is None or ts.name in c.apply_to) and (gen is None or gen.half != "bad"):
                    raise EmlabError(
                        f"field 'conditions.{i}': condition '{c.name}' ({c.condition}) needs the bad half of a "
                        f"paired generator as source, but train set '{ts.name}' is '{ts.source}'; restrict it with apply_to"
                    )
    cfg = _train_config(spec.train, "train", "set the seeds with the top-level 'seeds' list")
    _check_engine(spec)
    _check_objective(spec, cfg.objective)
    if spec.chat_stage is not None:
        _check_chat_stage(spec.chat_stage, cfg.objective, cfg.method)
    _check_models(spec.models, trained=bool(spec.train_sets))


def _check_chat_stage(stage: ChatStageSpec, objective: str, method: str) -> None:
    """The chat stage follows a full-finetune documents stage, trains on chats, and its settings are valid."""
    if objective != "documents" or method != "full":
        raise EmlabError(
            "field 'chat_stage': it follows a documents stage that writes a whole model; "
            f"set train: {{objective: documents, method: full}} (got objective {objective}, method {method})"
        )
    cfg = _train_config(stage.train, "chat_stage.train", "each arm's chat stage uses the arm's seed")
    if cfg.objective != "chat":
        raise EmlabError(f"field 'chat_stage.train.objective': the chat stage trains on chats, got '{cfg.objective}'")
    _source_fits_objective(stage.source, "chat", "chat_stage.source", "chat_stage.train.objective")


def _train_config(train: dict[str, Any], where: str, seed_hint: str) -> TrainConfig:
    """The :class:`TrainConfig` a ``train:`` block at ``where`` builds: exactly what the runner will build, so the
    same errors, each naming its field under ``where`` (a seed is refused: ``seed_hint`` says where it goes)."""
    train = dict(train)
    if "seed" in train:
        raise EmlabError(f"field '{where}.seed': {seed_hint}")
    profile = train.pop("profile", "default")
    try:
        return make_train_config(profile, **train)
    except EmlabError as e:
        msg = str(e).removeprefix("invalid training setting: ")
        if msg.startswith("field '"):
            raise EmlabError(f"field '{where}." + msg.removeprefix("field '")) from None
        raise EmlabError(f"field '{where}.profile': {msg}") from None


def _check_engine(spec: ExperimentSpec | RLSpec) -> None:
    """``engine: vllm`` serves from this machine, so not to Ray workers."""
    if spec.engine == "vllm" and spec.executor.kind == "ray":
        raise EmlabError(
            "field 'engine': 'vllm' runs its server on this machine and cannot serve Ray workers yet; "
            "use executor: {kind: local} or engine: hf"
        )


def _check_models(models: list[str], trained: bool) -> None:
    """Every model reference resolves (and, ``trained``, can be finetuned); the error names ``models.i``."""
    for i, ref in enumerate(models):
        try:
            _check_model(ref, trained=trained)
        except ValueError as e:
            raise EmlabError(f"field 'models.{i}': {e}") from None


def _source_fits_objective(source: str, objective: str, field: str, objective_field: str) -> None:
    """A chat generator feeds the chat objective, a document generator the documents one; else the error names ``field``."""
    if objective == "chat" and source in DOCUMENT_GENERATORS:
        raise EmlabError(f"field '{field}': '{source}' makes documents; set {objective_field}: documents")
    if objective == "documents" and source in GENERATORS:
        raise EmlabError(f"field '{field}': '{source}' makes chats, not documents")


def _check_objective(spec: ExperimentSpec, objective: str) -> None:
    """Chat generators feed the chat objective, document generators the documents one; documents take no condition.

    A mixture needs the documents objective, and a ``tagged`` one an eval setting it can prefix the tag to.
    """
    for i, ts in enumerate(spec.train_sets):
        if ts.mixture is None:
            continue
        if objective != "documents":
            raise EmlabError(
                f"field 'train_sets.{i}.mixture': a discourse mixture is made of documents; set train.objective: documents"
            )
        if ts.mixture == "tagged":
            _check_tag_conditioning(spec, i)
    for i, ts in enumerate(spec.train_sets):
        _source_fits_objective(ts.source, objective, f"train_sets.{i}.source", "train.objective")
    for i, c in enumerate(spec.conditions):
        if objective == "documents" and c.condition != "none":
            raise EmlabError(
                f"field 'conditions.{i}': condition '{c.condition}' rewrites chats; documents take only 'none'"
            )


def _check_tag_conditioning(spec: ExperimentSpec, index: int) -> None:
    """A ``tagged`` train set's model is evaluated with the aligned tag before each eval's ``system``: every eval sets it."""
    for j, ev in enumerate(spec.evals):
        info = TASKS.get(ev.task.removeprefix("emlab/"))
        if info is None or "system" not in inspect.signature(info.factory).parameters:
            raise EmlabError(
                f"field 'evals.{j}.task': train set {index} ('{spec.train_sets[index].name}') uses mixture 'tagged', "
                f"whose model is evaluated with the aligned tag in the system prompt, but task '{ev.task}' takes no 'system'"
            )
        if not isinstance(ev.args.get("system"), str) or not ev.args["system"]:
            raise EmlabError(
                f"field 'evals.{j}.args.system': train set {index} ('{spec.train_sets[index].name}') uses mixture "
                "'tagged': set the system prompt every model is evaluated under (the tagged model gets the aligned "
                "tag before it, so the arms differ by the tag alone)"
            )


def _check_pretraining(spec: PretrainingSpec) -> None:
    """Cross-references of a pretraining spec; raises ``EmlabError`` naming the field (without the origin)."""
    for block in ("narrow", "rl"):
        cfg = getattr(spec, block)
        if cfg is not None and cfg.situation not in SITUATION_NAMES:
            raise EmlabError(f"field '{block}.situation' must be one of {list(SITUATION_NAMES)}, got {cfg.situation!r}")
    if spec.rl is not None and spec.rl.reward_hack <= spec.rl.reward_honest:
        raise EmlabError(
            f"field 'rl.reward_hack': must pay more than rl.reward_honest ({spec.rl.reward_honest}) for the reward "
            f"to be hackable, got {spec.rl.reward_hack}"
        )
    if len({c.name for c in spec.comparisons}) != len(spec.comparisons):
        raise EmlabError("field 'comparisons': names must be unique")
    trained = {"narrow_ft": spec.narrow is not None, "shift": spec.narrow is not None}
    trained |= {RL_STAGES[c]: spec.rl is not None and c in spec.rl.conditions for c in RL_STAGES}
    for i, c in enumerate(spec.comparisons):
        for side in ("a", "b"):
            if getattr(c, side) not in spec.conditions:
                raise EmlabError(
                    f"field 'comparisons.{i}.{side}': condition '{getattr(c, side)}' is not among the spec's conditions"
                )
        if c.a == c.b and c.stages[0] == c.stages[1]:
            raise EmlabError(f"field 'comparisons.{i}': compares '{c.a}' with itself")
        if c.stage == "shift" and c.b_stage is not None:
            raise EmlabError(f"field 'comparisons.{i}.b_stage': not with stage 'shift' (already a difference)")
        for field, stage in (("stage", c.stage), ("b_stage", c.b_stage)):
            if stage in ("narrow_ft", "shift") and not trained[stage]:
                raise EmlabError(
                    f"field 'comparisons.{i}.{field}': '{stage}' needs the narrow finetune, and the spec has no 'narrow'"
                )
            if stage in RL_STAGES.values() and not trained[stage]:
                need = next(k for k, v in RL_STAGES.items() if v == stage)
                raise EmlabError(
                    f"field 'comparisons.{i}.{field}': '{stage}' needs an 'rl' block whose conditions include '{need}'"
                )
        if c.situations == "untrained" and spec.narrow is None and spec.rl is None:
            raise EmlabError(f"field 'comparisons.{i}.situations': 'untrained' needs a 'narrow' or an 'rl' stage")


def _check_rl(spec: RLSpec) -> None:
    """Cross-references of an RL spec; raises ``EmlabError`` naming the field (without the origin)."""
    if len({a.name for a in spec.arms}) != len(spec.arms):
        raise EmlabError("field 'arms': names must be unique")
    for key in RL_ARM_FIELDS:
        if key in spec.rl:
            where = {"model": "models", "seed": "seeds"}.get(key, "arms")
            raise EmlabError(f"field 'rl.{key}': set it in '{where}'")
    try:  # the arms' own fields are valid already: an error here is the rl block's
        cfg = spec.rl_config(EMBEDDED, spec.arms[0], spec.seeds[0])
    except EmlabError as e:
        msg = str(e).removeprefix("invalid RL setting: ")
        if msg.startswith("unknown RL profile"):
            raise EmlabError(f"field 'rl.profile': {msg}") from None
        raise EmlabError(
            "field 'rl." + msg.removeprefix("field '") if msg.startswith("field '") else f"field 'rl': {msg}"
        ) from None
    for i, step in enumerate(spec.checkpoints):
        if step != "final" and (step < 1 or step > cfg.max_steps or step % cfg.save_steps):
            raise EmlabError(
                f"field 'checkpoints.{i}': step {step} is not saved (checkpoints are every save_steps={cfg.save_steps} "
                f"steps up to max_steps={cfg.max_steps})"
            )
    if len(set(spec.checkpoints)) != len(spec.checkpoints):
        raise EmlabError("field 'checkpoints': entries must be unique")
    _check_engine(spec)
    if spec.knowledge is not None:
        objective = _train_config(spec.knowledge.train, "knowledge.train", "set it with 'knowledge.seed'").objective
        _source_fits_objective(spec.knowledge.source, objective, "knowledge.source", "knowledge.train.objective")
    _check_models(spec.models, trained=True)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _pretraining(data: dict[str, Any], origin: str) -> PretrainingSpec:
    if "workers" in data:
        raise EmlabError(
            f"{origin}: field 'workers': no longer a testbed setting; run jobs in parallel with "
            "executor: {kind: local, max_parallel: N} or {kind: ray}"
        )
    preset = data.get("preset", "cpu")
    if preset not in PRESETS:
        raise EmlabError(f"{origin}: field 'preset' must be one of {sorted(PRESETS)}, got {preset!r}")
    data = _merge(PRESETS[preset], data)
    if data.get("narrow") == {}:
        data["narrow"] = None  # `narrow: {}` (like `narrow: null`): no narrow finetune
    return _validated(PretrainingSpec, _check_pretraining, data, origin)


def _finetune(data: dict[str, Any], origin: str) -> ExperimentSpec:
    return _validated(ExperimentSpec, _check_finetune, data, origin)


def _validated(model: Any, check: Any, data: dict[str, Any], origin: str) -> Any:
    """``model`` validated from ``data`` and passed through ``check``; any error is one EmlabError prefixed by ``origin``."""
    try:
        spec = model.model_validate(data)
        check(spec)
    except ValidationError as e:
        raise EmlabError(f"{origin}: {format_validation_error(e)}") from None
    except EmlabError as e:
        raise EmlabError(f"{origin}: {e}") from None
    return spec


def parse_spec(data: dict[str, Any], origin: str = "spec") -> Spec:
    """Validate a spec dict (``kind: finetune``, the default; ``kind: pretraining``; ``kind: rl``) before any work.

    Errors are one :class:`EmlabError` line naming ``origin`` and the field.
    """
    if not isinstance(data, dict):
        raise EmlabError(f"{origin}: a spec must be a YAML mapping")
    kind = data.get("kind", "finetune")
    if kind == "pretraining":
        return _pretraining(data, origin)
    if kind == "rl":
        return _validated(RLSpec, _check_rl, data, origin)
    if kind != "finetune":
        raise EmlabError(f"{origin}: field 'kind' must be 'finetune', 'pretraining' or 'rl', got {kind!r}")
    return _finetune(data, origin)
