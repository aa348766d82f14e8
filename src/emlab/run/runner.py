"""The resumable local runner behind ``emlab run``.

Layout of ``runs/<name>/``::

    spec.yaml             the spec as given
    data/<hash>.jsonl     each (training set, condition), + .meta.json
    models/<hash>/        each finetuned adapter (emlab.json inside)
    logs/<model>__<task>__<hash>.eval   one Inspect log per (model, eval)
    logs/.partial-<...>/  an eval in progress (Inspect flushes finished samples into its log);
                          started again, it is resumed with ``eval_retry``, which keeps them
    manifest.json         every model with its config, hashes and the absolute paths of its data, adapter and logs
    results.parquet       the tidy table: one row per scored sample

Every artifact's name is a hash of the config that produced it, and each is written
atomically, so an interrupted run, started again, redoes only what is missing — down to the
samples of an interrupted eval. The ``emlab/`` provider seeds each sample's sampling from its
id, so a resumed eval's new samples are the answers an uninterrupted run would have drawn.

A model's key holds its base, the hash of its data and the whole training config with the
precision resolved where the jobs run (``auto`` is bf16 or fp32 by the machine and
``EMLAB_INFERENCE_DTYPE``), so a bf16 and an fp32 model never share a key; an eval log's key
holds the model's, the task and its args, the judge, the inference dtype and (when not ``hf``) the engine.
With ``engine: vllm`` each base model's evals run against one vLLM server that serves the base
and all its adapters (:mod:`emlab.engines.vllm`), started before them and stopped after.

:func:`emlab.run.kinds.make_runner` picks the runner for a spec's kind (``pretraining``:
:mod:`emlab.run.pretraining`; ``rl``: :mod:`emlab.run.rl`, a subclass of this one).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from emlab._io import config_hash, file_hash, write_text_atomic
from emlab.engines.vllm import VLLMServer, inspect_model_name, plan_servers, serving
from emlab.errors import EmlabError
from emlab.evals import inspect_task_name
from emlab.judges.rescore import rescore_log
from emlab.judges.scorer import preflight_judge
from emlab.models import ResolvedModel, resolve_model
from emlab.run.base import BaseRunner
from emlab.run.executor import Job
from emlab.run.spec import ConditionSpec, ExperimentSpec, TrainSetSpec
from emlab.train.config import make_train_config


@dataclass
class Arm:
    """One model of the experiment: a base model, or a base finetuned on a conditioned set."""

    model_id: str
    base: str
    train_set: TrainSetSpec | None = None
    condition: ConditionSpec | None = None
    seed: int | None = None
    data_path: Path | None = None
    model_path: str | None = None
    model_hash: str | None = None
    logs: dict[str, str] = field(default_factory=dict)

    def labels(self) -> dict[str, Any]:
        """The columns that identify this model in the results table."""
        return {
            "model_id": self.model_id,
            "base_model": self.base,
            "train_set": self.train_set.name if self.train_set else "base",
            "condition": self.condition.name if self.condition else "base",
            "condition_kind": self.condition.condition if self.condition else "none",
            "seed": self.seed,
        }


def eval_to_log(
    task: str,
    model: str,
    task_args: dict[str, Any],
    model_roles: dict[str, str],
    final: Path,
    metadata: dict[str, Any],
    display: str = "rich",
    max_connections: int | None = None,
    engine_url: str | None = None,
) -> None:
    """Run one Inspect eval and move its log to ``final`` (atomically: same filesystem); raise if it failed.

    The eval runs in ``.partial-<final name>/`` beside ``final``. If an earlier attempt left a
    log there (killed, cancelled or failed), that log is resumed with ``eval_retry``: its
    finished samples are kept and only the others run. The partial dir goes once ``final`` exists.
    ``max_connections`` is Inspect's (None: the provider's default). ``engine_url``: the vLLM
    server an ``emlab-vllm/`` model is served by (kept out of the log, so a resumed eval reaches
    the server of its time).
    """
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    partial = final.parent / f".partial-{final.stem}"
    partial.mkdir(parents=True, exist_ok=True)
    with serving(engine_url):
        log = _resume(partial, display, max_connections)
        if log is None:
            log = inspect_eval(
                task,
                # not memoised: Inspect keeps a memoised model alive for the process, so evals of several local
                # models one after another in this process would each keep their weights in memory
                model=get_model(model, memoize=False),
                task_args=task_args,
                model_roles=model_roles or None,
                log_dir=str(partial),
                display=display,
                metadata=metadata,
                fail_on_error=0.1,
                max_connections=max_connections,
            )[0]
    if log.status != "success":
        raise EmlabError(
            f"eval {task} on {metadata['emlab']['model_id']} failed: {log.error.message if log.error else log.status}"
        )
    shutil.move(log.location, final)
    shutil.rmtree(partial, ignore_errors=True)


def _resume(partial: Path, display: str, max_connections: int | None = None) -> Any:
    """Finish the newest log an earlier attempt left in ``partial`` (keeping its finished samples); None if there is none to finish.

    A log that already succeeded is returned as it is. One that cannot be resumed (e.g. its
    task's code changed since) is deleted, with a warning, so the caller starts afresh.
    """
    from inspect_ai import eval_retry
    from inspect_ai.log import read_eval_log, read_eval_log_sample_summaries

    for path in sorted(partial.glob("*.eval"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        try:
            if not read_eval_log_sample_summaries(str(path)):
                continue
        except Exception:
            continue
        log = read_eval_log(str(path), header_only=True)
        if log.status == "success":
            return log
        try:
            return eval_retry(
                str(path), log_dir=str(partial), display=display, fail_on_error=0.1, max_connections=max_connections
            )[0]
        except Exception as e:
            Console(stderr=True).print(
                f"[yellow]cannot resume {path.name} ({type(e).__name__}: {e}); starting the eval afresh[/]"
            )
            path.unlink()
            return None
    return None


def plan_arms(spec: ExperimentSpec) -> list[Arm]:
    """Expand the spec's grid into arms (base models first)."""
    arms: list[Arm] = []
    for base in spec.models:
        short = short_name(base)
        if spec.include_base:
            arms.append(Arm(model_id=short, base=base))
        for ts in spec.train_sets:
            for cond in spec.conditions:
                if cond.apply_to is not None and ts.name not in cond.apply_to:
                    continue
                for seed in spec.seeds:
                    arms.append(
                        Arm(
                            model_id=f"{short}+{ts.name}+{cond.name}+s{seed}",
                            base=base,
                            train_set=ts,
                            condition=cond,
                            seed=seed,
                        )
                    )
    return arms


def short_name(base: str) -> str:
    """The name a base model reference gets in model ids (a dir's name, or the hub id with ``-`` for ``/``)."""
    return Path(base).name if Path(base).exists() else base.replace("/", "-")


class Runner(BaseRunner):
    """Runs an :class:`ExperimentSpec` in ``run_dir``, skipping every artifact that exists."""

    def __init__(
        self, spec: ExperimentSpec, run_dir: Path, console: Console | None = None, display: str = "rich"
    ) -> None:
        super().__init__(spec, run_dir, console, display)
        self.arms = plan_arms(spec)
        self.chat_data: Path | None = None  # the chat stage's training set (build_data), when the spec has one

    # -- stages ---------------------------------------------------------------------------
    def build_data(self) -> None:
        """Build each (training set, condition) JSONL once."""
        from emlab.corpus.classifier import CachedClassifier
        from emlab.data import build_training_set
        from emlab.data.documents import build_document_set, build_mixture

        documents = make_train_config(**{"profile": "default", **self.spec.train}).objective == "documents"
        scorer = CachedClassifier()  # one memo for every mixture: they transform the same source documents
        for arm in self.arms:
            if arm.train_set is None or arm.condition is None:
                continue
            key = {
                **arm.train_set.model_dump(exclude={"name"}),
                "condition": arm.condition.condition,
                "text": arm.condition.text,
                **({"objective": "documents"} if documents else {}),  # {text} rows, not chats (older keys kept)
            }
            out = self.run_dir / "data" / f"{arm.train_set.name}__{arm.condition.name}__{config_hash(key)}.jsonl"
            if not out.is_file():
                self.console.print(f"[cyan]data[/] {out.name}")
                ts = arm.train_set
                if ts.mixture is not None:
                    build_mixture(
                        ts.source,
                        ts.mixture,
                        out=out,
                        n=ts.n,
                        seed=ts.seed,
                        settings=ts.mixture_settings,
                        scorer=scorer,
                    )
                elif documents:
                    build_document_set(ts.source, out=out, n=ts.n, seed=ts.seed, condition=arm.condition.condition)
                else:
                    build_training_set(
                        ts.source,
                        out=out,
                        n=ts.n,
                        seed=ts.seed,
                        condition=arm.condition.condition,
                        condition_text=arm.condition.text,
                    )
            arm.data_path = out
        stage = self.spec.chat_stage
        if stage is not None:
            key = {**stage.model_dump(exclude={"train"}), "condition": "none", "stage": "chat"}
            self.chat_data = self.run_dir / "data" / f"chat_stage__{config_hash(key)}.jsonl"
            if not self.chat_data.is_file():
                self.console.print(f"[cyan]data[/] {self.chat_data.name}")
                build_training_set(stage.source, out=self.chat_data, n=stage.n, seed=stage.seed)

    def train_models(self) -> None:
        """Finetune every arm that has a training set and no finished model dir; then the chat stage, if any."""
        self._train_arms(chat_stage=False)
        if self.spec.chat_stage is not None:
            self._train_arms(chat_stage=True)

    def _train_arms(self, chat_stage: bool) -> None:
        """One training job per arm with a training set, unless its keyed model dir is finished.

        The first stage trains the arm's base on its data; the chat stage trains that output on the chat stage's
        data, keyed on the first stage's key. Either way the arm's model becomes the stage's output.
        """
        from emlab.train.sft import train_lora

        train = dict(self.spec.chat_stage.train if chat_stage else self.spec.train)
        profile = train.pop("profile", "default")
        jobs = []
        for arm in self.arms:
            if arm.train_set is None:
                continue
            cfg = self.resolve_train_config(make_train_config(profile, **train, seed=arm.seed))  # keyed as trained
            start, data = (arm.model_path, self.chat_data) if chat_stage else (arm.base, arm.data_path)
            origin = {"start": arm.model_hash} if chat_stage else {"base": arm.base}
            arm.model_hash = config_hash({**origin, "data": file_hash(data), "train": cfg.model_dump()})
            name = f"{arm.model_id}+chat" if chat_stage else arm.model_id
            arm.model_path = str(self.run_dir / "models" / f"{name}__{arm.model_hash}")
            if not (Path(arm.model_path) / "emlab.json").is_file():
                what = "chat stage" if chat_stage else "train"
                args = {"model_ref": start, "data": data, "out": arm.model_path, "config": cfg}
                jobs.append(Job(f"{what} {arm.model_id}", train_lora, args))
        self._run(jobs, "train")

    def evaluate(self) -> None:
        """Run every eval on every model, one Inspect log each, skipping logs that exist."""
        log_dir = self.run_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        roles = {} if self.spec.judge == "embedded" else {"grader": self.spec.judge}
        judge_key = self.spec.judge
        if judge_key == "embedded":  # a rebuilt embedded judge re-scores instead of reusing old logs
            from emlab.judges.embedded import judge_fingerprint

            judge_key = f"embedded:{judge_fingerprint()}"
        jobs = []
        served: list[tuple[ResolvedModel, Job]] = []  # engine vllm: eval jobs and the model each serves
        for arm in self.arms:
            model = resolve_model(arm.model_path or arm.base)
            for ev in self.spec.evals:
                task_name = inspect_task_name(ev.task)
                args = arm.train_set.eval_args(ev.args) if arm.train_set else ev.args  # tagged: the aligned tag
                keyed = {
                    "model": arm.model_hash or arm.base,
                    "task": task_name,
                    "args": args,
                    "judge": judge_key,
                    "inference_dtype": self.settings["inference_dtype"],  # the dtype answers and verdicts come in
                }
                if ev.max_connections is not None:  # it changes the answers (batching); unset keeps older runs' keys
                    keyed["max_connections"] = ev.max_connections
                if self.spec.engine != "hf":  # another engine, other answers; hf keeps older runs' keys
                    keyed["engine"] = self.spec.engine
                key = config_hash(keyed)
                # what the answers depend on (not the judge): a log with the same answers is re-scored, not regenerated
                generation_key = config_hash({k: v for k, v in keyed.items() if k != "judge"})
                final = log_dir / f"{arm.model_id}__{ev.task.replace('/', '-')}__{key}.eval"
                arm.logs[ev.label] = str(final)
                previous = (
                    _log_with_answers(log_dir, generation_key)
                    if task_name in RESCORABLE and not final.is_file()
                    else None
                )
                if previous is not None:
                    kwargs = {"log_path": previous, "judge": self.spec.judge, "out_path": final, "action": "overwrite"}
                    jobs.append(Job(f"re-score {arm.model_id} on {task_name} (same answers)", rescore_log, kwargs))
                elif not final.is_file():
                    metadata = {
                        "emlab": {
                            **arm.labels(),
                            "model_path": model.path,
                            "run": self.spec.name,
                            "generation_key": generation_key,
                        }
                    }
                    display = (
                        "none" if self.spec.executor.kind == "ray" else self.display
                    )  # Ray workers have no terminal
                    kwargs = {
                        "task": task_name,
                        "model": model.inspect_name,
                        "task_args": args,
                        "model_roles": roles,
                        "final": final,
                        "metadata": metadata,
                        "display": display,
                        "max_connections": ev.max_connections,
                    }
                    job = Job(f"eval {arm.model_id} on {task_name}", eval_to_log, kwargs)
                    if self.spec.engine == "vllm":
                        served.append((model, job))
                    else:
                        jobs.append(job)
        self._run(jobs, "eval", bars=False)
        self._run_served(served)

    def _run_served(self, served: list[tuple[ResolvedModel, Job]]) -> None:
        """Run vLLM eval jobs: per base model, one server for the base and all its adapters, started and stopped around its jobs."""
        if not served:
            return
        arms = [(a.model_id, resolve_model(a.model_path or a.base)) for a in self.arms]  # base arms: short name
        for plan in plan_servers(arms, dtype=self.settings["inference_dtype"]):
            group = [(model, job) for model, job in served if model.base_path == plan.base_path]
            if not group:
                continue
            log = self.run_dir / "logs" / f"vllm-{plan.base_name}.log"
            self.console.print(f"[cyan]vLLM server[/] {plan.base_name} + {len(plan.adapters)} adapters (log {log})")
            with VLLMServer(plan, log) as server:
                for model, job in group:
                    job.kwargs.update(model=inspect_model_name(plan.served_name(model)), engine_url=server.url)
                self._run([job for _, job in group], "eval", bars=False)

    def _done(self, job: Job) -> None:
        # Inspect's own summary names the log inside .partial-*/, which is gone once it is moved
        where = job.kwargs.get("final") or job.kwargs.get("out")  # an eval's log, or what another job wrote
        self.console.print(f"[green]{'log' if 'final' in job.kwargs else 'done'}[/] {where}", soft_wrap=True)

    def write_results(self) -> Path:
        """Collect every log into ``results.parquet`` and write ``manifest.json`` (absolute paths)."""
        from emlab.analysis.results import results_table

        manifest = {
            "name": self.spec.name,
            "kind": self.spec.kind,
            "run_dir": str(self.run_dir),
            "judge": self.spec.judge,
            **self._manifest_extra(),
            "models": [
                {
                    **a.labels(),
                    "model_path": a.model_path or (str(Path(a.base).resolve()) if Path(a.base).exists() else a.base),
                    "model_hash": a.model_hash,
                    "data_path": str(a.data_path) if a.data_path else None,
                    **self._model_extra(a),
                    "logs": a.logs,
                }
                for a in self.arms
            ],
        }
        self.write_manifest(manifest)
        df = results_table(self.run_dir)
        return self.run_dir / "results.parquet" if len(df) else self.run_dir

    def _manifest_extra(self) -> dict[str, Any]:
        """Run-level manifest fields a runner kind adds (none here)."""
        return {}

    def _model_extra(self, arm: Arm) -> dict[str, Any]:
        """Per-model manifest fields a runner kind adds (none here)."""
        return {}

    def run(self) -> Path:
        """All stages in order; returns the run dir. An unreachable judge stops it before any work."""
        preflight_judge(self.spec.judge)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / "spec.yaml", yaml.safe_dump(self.spec.model_dump(), sort_keys=False))
        self.build_data()
        self.train_models()
        self.evaluate()
        self.write_results()
        return self.run_dir


RESCORABLE = {"emlab/freeform"}  # tasks whose only judge-dependent part is the scorer: a new judge re-scores their logs


def _log_with_answers(log_dir: Path, generation_key: str) -> Path | None:
    """A finished log in ``log_dir`` whose answers were generated under ``generation_key`` (by another judge's run), if any."""
    from inspect_ai.log import read_eval_log  # deferred: Inspect's log reader is only needed when a judge changed

    for path in sorted(log_dir.glob("*.eval")):
        header = read_eval_log(str(path), header_only=True)
        labels = (header.eval.metadata or {}).get("emlab", {})
        if header.status == "success" and labels.get("generation_key") == generation_key:
            return path
    return None
