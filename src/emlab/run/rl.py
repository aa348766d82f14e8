"""The runner of ``kind: rl`` specs: (knowledge stage →) RL on the hackable environments → evals → results.

Layout of ``runs/<name>/`` (beside what :mod:`emlab.run.runner` writes)::

    data/knowledge__<hash>.jsonl          the knowledge stage's documents or dialogues (if any)
    models/<base>+knowledge__<hash>/      the knowledge finetune, and ``.../merged`` (an adapter merged into
                                          its base: RL trains a new adapter on a plain model)
    rl/<base>+<arm>+s<seed>__<hash>/      one RL run each (:func:`emlab.rl.trainer.run_rl`: steps.jsonl,
                                          checkpoints/checkpoint-N/, adapter/)
    rl_steps.parquet                      every run's per-step table, with the arm's identity columns

Models in the results table (and the report): the untouched base (``train_set`` ``base``), the
knowledge model (``knowledge``), and every RL run at each evaluated checkpoint (``train_set``
``rl`` for the final adapter, ``rl@N`` for checkpoint N; ``condition`` the arm's name;
``condition_kind`` the arm's prompt condition, or ``secure-grader`` for an arm paid by the
secure twin). So the report's comparisons read as: each model minus base, each condition minus
the arm without one, each checkpoint against the final one.

A run's key hashes the base model, the knowledge model's key and the whole RL config with the
machine-dependent precision resolved (:meth:`~emlab.run.base.BaseRunner.resolve_train_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from emlab._io import atomic_path, config_hash, file_hash
from emlab.run.base import BaseRunner
from emlab.run.executor import Job
from emlab.run.runner import Arm, Runner, short_name
from emlab.run.spec import RLArmSpec, RLSpec
from emlab.train.config import make_train_config

STEPS_TABLE = "rl_steps.parquet"
SECURE_KIND = "secure-grader"  # condition_kind of an arm paid by the secure twin: the control arm


@dataclass
class RLArm(Arm):
    """A model of an RL run: the base, the knowledge model, or one RL run at one checkpoint."""

    stage: str = "base"  # base | knowledge | rl
    arm: RLArmSpec | None = None
    rl_step: int | None = None  # None: the final adapter
    rl_dir: Path | None = None

    def labels(self) -> dict[str, Any]:
        """The identity columns (see the module docstring)."""
        if self.arm is None:
            return {
                "model_id": self.model_id,
                "base_model": self.base,
                "train_set": self.stage,
                "condition": "base",
                "condition_kind": "none",
                "seed": None,
            }
        return {
            "model_id": self.model_id,
            "base_model": self.base,
            "train_set": "rl" if self.rl_step is None else f"rl@{self.rl_step}",
            "condition": self.arm.name,
            "condition_kind": self.arm.condition if self.arm.grader == "vulnerable" else SECURE_KIND,
            "seed": self.seed,
        }


def rl_job(config: Any, out: Path, progress: Any = None) -> Path:
    """One RL run as an executor job; ``progress(step, total, reward)`` feeds the runner's bar."""
    from emlab.rl.trainer import run_rl  # deferred: loads torch, transformers and TRL in the job's process

    tick = None if progress is None else (lambda step, total, row: progress(step, total, row["reward_mean"]))
    return run_rl(config, out, progress=tick)


def merge_job(adapter: Path, out: Path) -> Path:
    """Merge a LoRA adapter into its base and write the plain model to ``out`` (atomically)."""
    import torch  # deferred: the job's process loads the model
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.models import resolve_model

    model = resolve_model(str(adapter))
    base = AutoModelForCausalLM.from_pretrained(model.base_path, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    with atomic_path(out) as tmp:
        merged.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(tmp)
    return out


class RLRunner(Runner):
    """Runs an :class:`RLSpec` in ``run_dir``, skipping every artifact that exists."""

    def __init__(self, spec: RLSpec, run_dir: Path, console: Console | None = None, display: str = "rich") -> None:
        BaseRunner.__init__(self, spec, run_dir, console, display)  # not Runner's: its plan is a finetune grid
        self.arms: list[Arm] = self.plan()
        self.knowledge_data: Path | None = None

    @property
    def rl_arms(self) -> list[RLArm]:
        """The RL runs' models (every checkpoint), in plan order."""
        return [a for a in self.arms if isinstance(a, RLArm) and a.arm is not None]

    def plan(self) -> list[Arm]:
        """The spec's models: per base, the base, the knowledge model, every arm × seed × checkpoint."""
        spec: RLSpec = self.spec  # type: ignore[assignment]
        arms: list[Arm] = []
        for base in spec.models:
            short = short_name(base)
            if spec.include_base:
                arms.append(RLArm(model_id=short, base=base))
            if spec.knowledge is not None:
                arms.append(RLArm(model_id=f"{short}+knowledge", base=base, stage="knowledge"))
            for arm in spec.arms:
                for seed in spec.seeds:
                    for step in spec.checkpoints:
                        suffix = "" if step == "final" else f"@{step}"
                        arms.append(
                            RLArm(
                                model_id=f"{short}+{arm.name}+s{seed}{suffix}",
                                base=base,
                                seed=seed,
                                stage="rl",
                                arm=arm,
                                rl_step=None if step == "final" else step,
                            )
                        )
        return arms

    # -- stages ---------------------------------------------------------------------------
    def build_data(self) -> None:
        """The knowledge stage's training data, once."""
        from emlab.data import build_training_set  # deferred: the data builders import the generators
        from emlab.data.documents import build_document_set

        k = self.spec.knowledge
        if k is None:
            return
        documents = self._knowledge_config().objective == "documents"
        key = {"source": k.source, "n": k.n, "seed": k.seed, "objective": "documents" if documents else "chat"}
        out = self.run_dir / "data" / f"knowledge__{config_hash(key)}.jsonl"
        if not out.is_file():
            self.console.print(f"[cyan]data[/] {out.name}")
            build = build_document_set if documents else build_training_set
            build(k.source, out=out, n=k.n, seed=k.seed)
        self.knowledge_data = out

    def _knowledge_config(self) -> Any:
        k = self.spec.knowledge
        return make_train_config(**{"profile": "default", **k.train, "seed": k.seed})

    def train_models(self) -> None:
        """The knowledge finetune (merged into a plain model), then every RL run that has not finished."""
        from emlab.train.sft import train_lora  # deferred: loads torch and TRL in the job's process

        starts: dict[str, tuple[str, str]] = {}  # base -> (model RL starts from, its key)
        jobs, merges = [], []
        for arm in self.arms:
            if arm.stage != "knowledge":
                continue
            cfg = self.resolve_train_config(self._knowledge_config())
            arm.data_path = self.knowledge_data
            arm.model_hash = config_hash(
                {"base": arm.base, "data": file_hash(self.knowledge_data), "train": cfg.model_dump()}
            )
            trained = self.run_dir / "models" / f"{arm.model_id}__{arm.model_hash}"
            plain = trained / "merged" if cfg.method == "lora" else trained
            arm.model_path = str(plain)
            starts[arm.base] = (str(plain), arm.model_hash)
            if not (trained / "emlab.json").is_file():
                jobs.append(
                    Job(
                        f"train {arm.model_id}",
                        train_lora,
                        {"model_ref": arm.base, "data": self.knowledge_data, "out": trained, "config": cfg},
                    )
                )
            if plain != trained and not (plain / "config.json").is_file():
                merges.append(Job(f"merge {arm.model_id}", merge_job, {"adapter": trained, "out": plain}))
        self._run(jobs, "train")
        self._run(merges, "merge", bars=False)

        runs: dict[Path, Job] = {}
        for arm in self.rl_arms:
            start, start_key = starts.get(arm.base, (arm.base, None))
            cfg = self.resolve_train_config(self.spec.rl_config(start, arm.arm, arm.seed))
            record = cfg.model_dump()
            record["model"] = arm.base  # the start is keyed by its content (start_key), not by its path
            run_hash = config_hash(
                {"base": arm.base, "knowledge": start_key, "rl": record, "condition": cfg.prompt_condition().record()}
            )
            run_id = arm.model_id.split("@", 1)[0]
            arm.rl_dir = self.run_dir / "rl" / f"{run_id}__{run_hash}"
            if arm.rl_step is None:
                arm.model_path, arm.model_hash = str(arm.rl_dir / "adapter"), run_hash
            else:
                arm.model_path = str(arm.rl_dir / "checkpoints" / f"checkpoint-{arm.rl_step}")
                arm.model_hash = f"{run_hash}@{arm.rl_step}"
            if arm.rl_dir not in runs and not (arm.rl_dir / "emlab.json").is_file():
                runs[arm.rl_dir] = Job(f"rl {run_id}", rl_job, {"config": cfg, "out": arm.rl_dir})
        self._run(list(runs.values()), "rl")

    def write_results(self) -> Path:
        """``rl_steps.parquet`` (every run's per-step table with its arm's columns), then the manifest and results."""
        from emlab.rl.trainer import read_steps  # deferred: the trainer module imports torch and TRL

        steps, seen = [], set()
        for arm in self.rl_arms:  # one table per RL run, whichever of its checkpoints are evaluated
            if arm.rl_dir in seen:
                continue
            seen.add(arm.rl_dir)
            ident = {
                "model_id": arm.model_id.split("@", 1)[0],
                "base_model": arm.base,
                "condition_kind": arm.labels()["condition_kind"],
                "arm": arm.arm.name,
            }
            steps += [{**row, **ident} for row in read_steps(arm.rl_dir)]
        if steps:
            with atomic_path(self.run_dir / STEPS_TABLE) as tmp:
                pd.DataFrame(steps).to_parquet(tmp, index=False)
        return super().write_results()

    def _manifest_extra(self) -> dict[str, Any]:
        steps = self.run_dir / STEPS_TABLE
        return {"rl_steps": str(steps) if steps.is_file() else None}

    def _model_extra(self, arm: Arm) -> dict[str, Any]:
        rl_dir = getattr(arm, "rl_dir", None)
        return {"rl_dir": str(rl_dir) if rl_dir else None}
