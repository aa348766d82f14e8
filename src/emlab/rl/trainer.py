"""GRPO with a LoRA adapter on the hackable environments (TRL ``GRPOTrainer`` + PEFT).

One run = one model, one set of environment families, one grader (vulnerable or its secure
twin), one prompt condition and one seed. Each optimiser step draws ``prompts_per_step`` prompts,
samples ``generations`` completions of each (the GRPO group), pays each completion the grader's
reward (:func:`emlab.rl.scoring.score_batch`) and takes a policy-gradient step with a KL penalty
``beta`` to the reference model (the base model: the adapter switched off).

**Reward and ground truth.** The reward handed to TRL is the grader's score and nothing else.
The ground truth (``honest`` / ``hack`` / ``failure``) is computed by the environment on the host,
after the reward and separately from it, and only reaches the per-step table: it never changes a
reward, an advantage or a gradient.

**Rollouts.** ``rollout: emlab`` (default) generates with :func:`emlab.inference.fast_generate` on a
separate copy of the policy in :func:`emlab.inference.inference_dtype` (bf16 where it is fast), into
which the adapter is merged once per step; each completion's sampling seed is derived from the
run's seed, the step and its row, so a resumed run samples what an uninterrupted one would.
``rollout: trl`` keeps TRL's own ``model.generate`` path; ``rollout: vllm`` samples from a vLLM server that
loads the adapter every step (:mod:`emlab.rl.vllm_rollout`, the GPU path). ``benchmarks/rl_throughput.py``
compares them.

**Outputs** (``out/``): ``config.json`` (the settings, the condition's exact text, the run key),
``steps.jsonl`` (the tidy per-step table, :data:`STEP_COLUMNS`, rewritten atomically every step),
``checkpoints/checkpoint-N/`` every ``save_steps`` (adapter, optimiser, scheduler, RNG state),
then ``adapter/`` and ``emlab.json`` when the run finishes. A run that stops (killed, or an
error in the grading code) resumes from its last checkpoint when started again with the same
config: table rows past that checkpoint are dropped and recomputed, so no step appears twice.
An error keeps the finished steps: a checkpoint of them is saved before the error is raised.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from peft.tuners.lora import LoraLayer
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from emlab._io import atomic_path, iter_jsonl, write_json_atomic, write_jsonl_atomic
from emlab.errors import EmlabError
from emlab.inference import contiguous_head_input, fast_generate, inference_dtype
from emlab.models import resolve_model
from emlab.rl.conditions import build_messages
from emlab.rl.config import RLConfig, row_seed, run_key, run_record
from emlab.rl.env import EnvFamily, Scored
from emlab.rl.registry import get_env
from emlab.rl.scoring import score_batch
from emlab.rl.vllm_rollout import VLLMRollout
from emlab.train.config import autocast_bf16, training_device
from emlab.train.sft import _library_versions, lora_config

RUN_CONFIG = "config.json"
STEPS_FILE = "steps.jsonl"
CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
RECORD = "emlab.json"
STEP_COLUMNS = (
    "step",
    "reward_mean",
    "reward_std",
    "hack_rate",
    "honest_rate",
    "failure_rate",
    "kl",
    "entropy",
    "completion_tokens",
    "rollout_seconds",
    "step_seconds",
    "condition",
    "preset",
    "hint",
    "grader",
    "envs",
    "seed",
)
"""The columns of ``steps.jsonl``, one row per optimiser step. ``kl`` is None when ``beta`` is 0 (no reference)."""


class RLStepError(EmlabError):
    """Grading failed during one RL step; the message names the step, the environment and the prompt."""

    def __init__(self, step: int, total: int, message: str) -> None:
        self.step, self.total, self.detail = step, total, message
        super().__init__(f"RL step {step} of {total}: {message}")


def _texts(completions: Sequence[Any]) -> list[str]:
    """Completion texts from TRL's completions (a list of assistant messages per row, or plain strings)."""
    return [c[-1]["content"] if isinstance(c, list) else c for c in completions]


class EnvReward:
    """TRL reward function: the environments' grader score, and nothing else.

    TRL calls it with the batch's ``env_prompt`` column (each prompt as JSON) and the completions.
    The scored batch (reward, outcome label, ground truth) is kept in :attr:`pending` for the
    per-step table; only the rewards are returned.
    """

    __name__ = "env_reward"  # TRL logs each reward function under its name

    def __init__(self, config: RLConfig, envs: Mapping[str, EnvFamily]) -> None:
        self.grader = config.grader
        self.envs = envs
        self.timeout_s = config.score_timeout_s
        self.workers = config.score_workers
        self.total_steps = config.max_steps
        self.pending: list[Scored] = []

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        env_prompt: Sequence[str],
        trainer_state: Any,
        **_: Any,
    ) -> list[float]:
        """One reward per completion, in order; grading failures raise :class:`RLStepError`."""
        step = trainer_state.global_step + 1
        items = [json.loads(s) for s in env_prompt]
        try:
            batch = score_batch(
                items,
                _texts(completions),
                grader=self.grader,
                envs=self.envs,
                workers=self.workers,
                timeout_s=self.timeout_s,
            )
        except EmlabError as e:
            raise RLStepError(step, self.total_steps, str(e)) from e
        self.pending.extend(batch.scored)
        return batch.rewards


class EmlabRollout:
    """TRL ``rollout_func``: generate with :func:`emlab.inference.fast_generate` on a merged inference copy.

    The copy holds the base weights in :func:`emlab.inference.inference_dtype`; before the first
    rollout of each step the adapter's delta is merged into it (:meth:`sync`), so it samples from
    the current policy without LoRA matmuls per token.
    """

    def __init__(self, model_path: str, tokenizer: Any, config: RLConfig) -> None:
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=inference_dtype()).eval()
        self.tokenizer = tokenizer
        self.config = config
        self.synced_step: int | None = None

    @torch.no_grad()
    def sync(self, policy: Any) -> None:
        """Copy ``base + delta`` of every LoRA layer of the PEFT ``policy`` into the inference copy (on its device)."""
        device = next(policy.parameters()).device
        if self.model.device != device:
            self.model.to(device)
        for name, module in policy.named_modules():
            if isinstance(module, LoraLayer) and "default" in module.lora_A:
                target = self.model.get_submodule(name.removeprefix("base_model.model."))
                merged = module.get_base_layer().weight + module.get_delta_weight("default")
                target.weight.copy_(merged.to(target.weight.dtype))

    def __call__(self, prompts: list[list[dict[str, str]]], trainer: GRPOTrainer) -> dict[str, Any]:
        """Prompt ids, completion ids (up to and including the end token) and no log-probs, one per prompt row."""
        step = trainer.state.global_step
        if self.synced_step != step:
            self.sync(trainer.model)
            self.synced_step = step
        tok = self.tokenizer
        prompt_ids = [
            tok(tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True), add_special_tokens=False)[
                "input_ids"
            ]
            for p in prompts
        ]
        width = max(len(ids) for ids in prompt_ids)
        pad = tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids])
        cfg = self.config
        out = fast_generate(
            self.model,
            input_ids.to(self.model.device),
            mask.to(self.model.device),
            max_new_tokens=cfg.max_new_tokens,
            do_sample=True,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            top_k=cfg.top_k or None,
            row_seeds=[row_seed(cfg.seed, step, i) for i in range(len(prompts))],
        )
        eos = set(trainer.eos_token_ids)
        completion_ids = []
        for row in out.sequences[:, width:].tolist():
            end = next((i for i, t in enumerate(row) if t in eos), None)
            completion_ids.append(row if end is None else row[: end + 1])
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}


class _TimedGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` that adds up the time and completion tokens of its rollouts (either path)."""

    rollout_seconds = 0.0
    rollout_tokens = 0

    def _generate(self, prompts: list):
        start = time.perf_counter()
        result = super()._generate(prompts)
        self.rollout_seconds += time.perf_counter() - start
        self.rollout_tokens += sum(len(ids) for ids in result[1])
        return result


class _StepTable(TrainerCallback):
    """Writes one row of ``steps.jsonl`` per optimiser step from TRL's logs and the scored batch."""

    def __init__(
        self,
        path: Path,
        rows: list[dict[str, Any]],
        reward: EnvReward,
        config: RLConfig,
        progress: Callable[[int, int, dict[str, Any]], None] | None,
    ) -> None:
        self.path, self.rows, self.reward, self.config, self.progress = path, rows, reward, config, progress
        cond = config.prompt_condition()
        self.fixed = {
            "condition": cond.name,
            "preset": cond.preset,
            "hint": cond.hint,
            "grader": config.grader,
            "envs": ",".join(config.envs),
            "seed": config.seed,
        }
        self.trainer: _TimedGRPOTrainer | None = None
        self.last_time = time.perf_counter()
        self.last_rollout = (0.0, 0)

    def on_train_begin(self, args, state, control, **kw):
        self.last_time = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kw):
        if not logs or "reward" not in logs:
            return
        scored, self.reward.pending = self.reward.pending, []
        n = len(scored) or 1
        t = self.trainer
        seconds, tokens = (t.rollout_seconds, t.rollout_tokens) if t is not None else (0.0, 0)
        now = time.perf_counter()
        row = {
            "step": state.global_step,
            "reward_mean": logs["reward"],
            "reward_std": logs.get("reward_std"),
            "hack_rate": sum(s.outcome == "hack" for s in scored) / n,
            "honest_rate": sum(s.outcome == "honest" for s in scored) / n,
            "failure_rate": sum(s.outcome == "failure" for s in scored) / n,
            "kl": logs.get("kl"),
            "entropy": logs.get("entropy"),
            "completion_tokens": tokens - self.last_rollout[1],
            "rollout_seconds": round(seconds - self.last_rollout[0], 3),
            "step_seconds": round(now - self.last_time, 3),
            **self.fixed,
        }
        self.last_rollout, self.last_time = (seconds, tokens), now
        self.rows.append(row)
        write_jsonl_atomic(self.path, self.rows)
        if self.progress is not None:
            self.progress(state.global_step, self.config.max_steps, row)


def _checkpoint_step(path: Path) -> int | None:
    """The step of a complete ``checkpoint-N`` dir (its trainer state, written last, parses), else None."""
    try:
        step = int(path.name.removeprefix("checkpoint-"))
        state = json.loads((path / "trainer_state.json").read_text())
    except (ValueError, OSError):
        return None
    return step if state.get("global_step") == step else None


def last_checkpoint(out: str | Path) -> tuple[Path, int] | None:
    """The run's latest complete checkpoint and its step, or None."""
    folder = Path(out) / CHECKPOINTS
    found = [(p, _checkpoint_step(p)) for p in folder.glob("checkpoint-*")] if folder.is_dir() else []
    complete = [(p, s) for p, s in found if s is not None]
    return max(complete, key=lambda ps: ps[1]) if complete else None


def read_steps(out: str | Path) -> list[dict[str, Any]]:
    """The run's per-step table (``steps.jsonl``), oldest step first; empty if none yet."""
    path = Path(out) / STEPS_FILE
    return [row for _, row in iter_jsonl(path)] if path.is_file() else []


def _claim(out: Path, config: RLConfig) -> str:
    """Write (or check) ``out/config.json``: a dir with finished steps belongs to one run key. Returns the key."""
    key = run_key(config)
    path = out / RUN_CONFIG
    if path.is_file():
        try:
            existing = json.loads(path.read_text()).get("key")
        except (ValueError, OSError, AttributeError) as e:
            raise EmlabError(f"{path}: cannot read the run's config ({e}); choose a new output dir") from None
        if existing == key:
            return key
        if last_checkpoint(out) is not None or read_steps(out):
            raise EmlabError(
                f"{out}: holds an RL run with another config (key {existing}, this one is {key}); "
                "choose a new output dir or run with the same settings to resume"
            )
    elif out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise EmlabError(f"{out}: is a non-empty directory that holds no RL run; choose a new output dir")
    write_json_atomic(path, {"key": key, **run_record(config)})
    return key


def _dataset(config: RLConfig, envs: Mapping[str, EnvFamily]) -> Dataset:
    """Every prompt of the run as a TRL row: the chat to answer and the environment prompt as JSON."""
    condition = config.prompt_condition()
    rows = []
    for name in config.envs:
        family = envs[name]
        for p in family.prompts(config.prompts_per_env, config.prompt_seed):
            rows.append({"prompt": build_messages(p, family, condition), "env_prompt": p.model_dump_json()})
    return Dataset.from_list(rows)


def _grpo_args(config: RLConfig, out: Path) -> GRPOConfig:
    device = training_device()
    return GRPOConfig(
        output_dir=str(out / CHECKPOINTS),
        learning_rate=config.learning_rate,
        lr_scheduler_type="constant",
        max_steps=config.max_steps,
        per_device_train_batch_size=config.prompts_per_step * config.generations,
        gradient_accumulation_steps=1,
        num_generations=config.generations,
        max_completion_length=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        beta=config.beta,
        epsilon=config.epsilon,
        scale_rewards=config.scale_rewards,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        report_to=[],
        disable_tqdm=True,
        use_cpu=device == "cpu",
        bf16=autocast_bf16(config.precision),
        activation_checkpointing=False,  # TRL's default trades ~20% compute for memory small models do not need
        dataloader_num_workers=0,
        log_completions=False,
    )


def run_rl(
    config: RLConfig,
    out: str | Path,
    *,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> Path:
    """Train (or resume, or return the finished) RL run ``config`` in ``out``; return ``out``.

    The environments are looked up in :data:`~emlab.rl.registry.ENVIRONMENTS` when the run starts.
    ``progress(step, total, row)`` is called after every step with its table row. Errors in the
    grading code raise :class:`RLStepError` (step, environment, prompt) after the finished steps
    were checkpointed; running again resumes after them.
    """
    out = Path(out)
    envs = {name: get_env(name) for name in config.envs}
    out.mkdir(parents=True, exist_ok=True)
    key = _claim(out, config)
    if (out / RECORD).is_file():
        return out
    model = resolve_model(config.model)
    if model.kind == "adapter":
        raise EmlabError(f"{config.model}: RL on top of an adapter is not supported; merge it first")

    resume = last_checkpoint(out)
    done = resume[1] if resume else 0
    rows = [r for r in read_steps(out) if r["step"] <= done]  # steps after the checkpoint are redone
    write_jsonl_atomic(out / STEPS_FILE, rows)

    tokenizer = AutoTokenizer.from_pretrained(model.path, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(config.seed)
    # TRL's log-probs take the completion's slice of the hidden states: keep the frozen head fast on it
    policy = contiguous_head_input(AutoModelForCausalLM.from_pretrained(model.path, dtype=torch.float32))
    lora = lora_config(config, policy)
    reward = EnvReward(config, envs)
    table = _StepTable(out / STEPS_FILE, rows, reward, config, progress)
    rollout = _rollout(config, model.path, tokenizer, out)
    with warnings.catch_warnings():  # rollout_func is TRL's documented hook, flagged experimental at every start
        warnings.filterwarnings("ignore", message="You are using 'rollout_func'")
        trainer = _TimedGRPOTrainer(
            model=policy,
            reward_funcs=[reward],
            args=_grpo_args(config, out),
            train_dataset=_dataset(config, envs),
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[table],
            rollout_func=rollout,
        )
    trainer.remove_callback(PrinterCallback)
    table.trainer = trainer
    start = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
    except BaseException as e:  # keep the finished steps whatever stopped the run (an error, Ctrl-C)
        kept = _keep_finished(trainer, done)
        note = (
            f"; steps 1-{kept} are kept in {out} ({CHECKPOINTS}/checkpoint-{kept}); run the same command again to resume"
            if kept
            else f"; no step had finished ({out})"
        )
        if isinstance(e, RLStepError):
            raise RLStepError(e.step, e.total, e.detail + note) from e
        if isinstance(e, EmlabError):
            raise EmlabError(f"{e}{note}") from e
        raise
    finally:
        if isinstance(rollout, VLLMRollout):
            rollout.close()
    seconds = time.perf_counter() - start
    with atomic_path(out / ADAPTER) as tmp:
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        record = {
            "kind": "lora-grpo",
            "key": key,
            **run_record(config),
            "base_model": model.describe(),
            "versions": _library_versions(),
            "steps": trainer.state.global_step,
            "precision": "bf16" if trainer.args.bf16 else "fp32",
            "rollout": config.rollout,
            "train_seconds": round(seconds, 2),
            "rollout_seconds": round(trainer.rollout_seconds, 2),
            "rollout_tokens": trainer.rollout_tokens,
        }
        write_json_atomic(tmp / RECORD, record)
    write_json_atomic(out / RECORD, record)
    return out


def _rollout(config: RLConfig, model_path: str, tokenizer: Any, out: Path) -> Any:
    """The ``rollout_func`` of ``config.rollout``: emlab's, a vLLM server's, or None for TRL's own generation."""
    if config.rollout == "emlab":
        return EmlabRollout(model_path, tokenizer, config)
    if config.rollout == "vllm":
        dtype = str(inference_dtype()).removeprefix("torch.")
        return VLLMRollout(model_path, tokenizer, config, out, dtype=dtype)
    return None


def _keep_finished(trainer: GRPOTrainer, checkpointed: int) -> int:
    """Checkpoint the steps finished since the last checkpoint (a failed step has not counted); return the last step kept."""
    step = trainer.state.global_step
    if step > checkpointed:
        trainer._save_checkpoint(trainer.model, trial=None)  # the Trainer's own save: adapter, optimiser, RNG, state
    return step
