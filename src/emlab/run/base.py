"""What every kind of ``emlab run`` shares: stages of jobs on the spec's executor, progress display,
the machine-dependent settings that enter artifact keys, and the manifest + results table.

A runner plans each stage's artifacts (each path keyed by :func:`emlab._io.config_hash` of
what made it), skips those that exist, and hands the rest as :class:`~emlab.run.executor.Job`
s to :func:`~emlab.run.executor.run_jobs`. ``manifest.json`` lists every model with its
identity columns and the absolute paths of its artifacts; :func:`emlab.analysis.results.results_table`
turns it into ``results.parquet`` (one row per scored sample).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from emlab._io import write_json_atomic
from emlab.run.executor import ExecutorSpec, Job, call_where_jobs_run, run_jobs, runs_in_this_process
from emlab.train.config import autocast_bf16, resolve_kernels

PRECISIONS = ("auto", "bf16", "fp32")
KERNELS = ("auto", "emlab", "library")


def machine_settings() -> dict[str, Any]:
    """What the machine-dependent settings resolve to in this process.

    ``precision``: each training precision setting mapped to what training really uses
    (``auto`` decided by :func:`emlab.train.config.autocast_bf16`, i.e. bf16 where it is fast
    unless ``EMLAB_INFERENCE_DTYPE`` forces another dtype). ``inference_dtype``: the dtype the
    ``emlab/`` provider and the embedded judge load models in (:func:`emlab.inference.inference_dtype`).
    ``kernels``: each training ``kernels`` setting mapped to the kernels training really uses
    (:func:`emlab.train.config.resolve_kernels`: ``auto`` is emlab's on a CPU, the library's on a GPU).
    """
    from emlab.inference import inference_dtype  # deferred: imports torch, which only the jobs need

    return {
        "precision": {p: "bf16" if autocast_bf16(p) else "fp32" for p in PRECISIONS},
        "inference_dtype": str(inference_dtype()).removeprefix("torch."),
        "kernels": {k: resolve_kernels(k) for k in KERNELS},
    }


class BaseRunner:
    """Shared machinery of the runners: ``self.spec`` has an ``executor``; artifacts go under ``self.run_dir``.

    ``run_dir`` is made absolute, so every path in jobs and in ``manifest.json`` is too.
    """

    def __init__(self, spec: Any, run_dir: Path, console: Console | None = None, display: str = "rich") -> None:
        self.spec, self.run_dir = spec, Path(run_dir).resolve()
        self.console = console or Console()
        self.display = display

    @property
    def executor(self) -> ExecutorSpec:
        """The spec's executor."""
        return self.spec.executor

    @cached_property
    def settings(self) -> dict[str, Any]:
        """:func:`machine_settings` where the jobs run (asked once per runner)."""
        return call_where_jobs_run(machine_settings, self.executor)

    def resolve_precision(self, precision: str) -> str:
        """``bf16`` or ``fp32``: what a job trains in for the ``precision`` setting (``auto`` resolved)."""
        return self.settings["precision"][precision]

    def resolve_train_config(self, cfg: Any) -> Any:
        """``cfg`` with every machine-dependent setting (``precision``, ``kernels``) as the jobs will run it.

        Artifacts are keyed by the resolved config, so a bf16 and an fp32 model (or one trained with
        emlab's kernels and one with the library's) never share a key.
        """
        update = {"precision": self.resolve_precision(cfg.precision)}
        if "kernels" in type(cfg).model_fields:
            update["kernels"] = self.settings["kernels"][cfg.kernels]
        return cfg.model_copy(update=update)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (paths in it are absolute)."""
        write_json_atomic(self.run_dir / "manifest.json", manifest)

    def _run(self, jobs: list[Job], stage: str, bars: bool = True) -> None:
        """Run a stage's jobs on the spec's executor.

        One job at a time in this process: with a bar per job that takes a ``progress``
        callback (``bars``), else the job's label. In worker processes or under Ray: one bar
        counting finished jobs.
        """
        if not jobs:
            return
        if not runs_in_this_process(self.executor, len(jobs)):
            where = "on Ray" if self.executor.kind == "ray" else "in worker processes"
            with self._progress() as progress:
                overall = progress.add_task(f"{stage} {where} ({len(jobs)} jobs)", total=len(jobs))
                run_jobs(jobs, self.executor, on_done=lambda job: progress.advance(overall))
            return
        for job in jobs:
            if not bars:
                self.console.print(f"[cyan]{job.label}[/]")
                run_jobs([job], self.executor)
                self._done(job)
                continue
            with self._progress() as progress:
                bar = progress.add_task(job.label, total=None)

                def tick(step: int, total: int, loss: float | None, bar: Any = bar, label: str = job.label) -> None:
                    progress.update(
                        bar,
                        completed=step,
                        total=total,
                        description=f"{self._short(label)} loss={loss if loss is None else round(loss, 3)}",
                    )

                run_jobs([Job(job.label, job.fn, {**job.kwargs, "progress": tick})], self.executor)

    def _done(self, job: Job) -> None:
        """Called after each job that ran without a bar in this process (a runner may print where its artifact is)."""

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )

    @staticmethod
    def _short(text: str, n: int = 40) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"
