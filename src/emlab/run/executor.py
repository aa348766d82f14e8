"""Where the jobs of ``emlab run`` execute: in this process, or as Ray tasks across GPUs/nodes.

A job is a module-level function plus keyword arguments (so Ray can pickle it) that writes
one artifact atomically (an adapter dir, an Inspect log). Because every artifact is keyed by
a hash of its config, the two executors produce the same run dir, and a run interrupted on
either resumes on either. With Ray, the run dir must be on storage every node sees::

    executor: {kind: ray}                                  # start a local Ray on this machine
    executor: {kind: ray, address: auto, gpus_per_job: 1}  # join a cluster; one GPU per job
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emlab.errors import EmlabError


class ExecutorSpec(BaseModel):
    """How jobs run: ``local`` (in order, in this process) or ``ray`` (in parallel, Ray tasks)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(
        None, description="Ray cluster address ('auto', 'ray://host:10001'); None starts a local Ray"
    )
    cpus_per_job: float = Field(1.0, gt=0, description="Ray CPUs reserved per job")
    gpus_per_job: float = Field(0.0, ge=0, description="Ray GPUs reserved per job (Ray sets CUDA_VISIBLE_DEVICES)")
    max_parallel: int | None = Field(
        None, ge=1, description="at most this many jobs at once (None: as resources allow)"
    )


@dataclass
class Job:
    """One unit of work: ``fn(**kwargs)``, shown as ``label`` in progress and errors."""

    label: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


def run_jobs(jobs: list[Job], spec: ExecutorSpec, on_done: Callable[[Job], None] | None = None) -> None:
    """Run ``jobs`` with ``spec``; call ``on_done(job)`` after each; stop with :class:`EmlabError` on a failure.

    Locally, an :class:`EmlabError` raised by a job propagates unchanged. Under Ray, the first
    failed job's error is re-raised as an :class:`EmlabError` naming the job; jobs already
    finished keep their artifacts (a re-run skips them).
    """
    if spec.kind == "local":
        for job in jobs:
            job.fn(**job.kwargs)
            if on_done:
                on_done(job)
        return
    _run_ray(jobs, spec, on_done)


def _run_ray(jobs: list[Job], spec: ExecutorSpec, on_done: Callable[[Job], None] | None) -> None:
    try:
        import ray
    except ImportError:
        raise EmlabError("executor 'ray' needs Ray: pip install 'emlab[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=spec.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except ConnectionError as e:
            raise EmlabError(f"cannot reach the Ray cluster at {spec.address}: {e}") from None
    call = ray.remote(num_cpus=spec.cpus_per_job, num_gpus=spec.gpus_per_job, max_retries=0)(_call)
    waiting = list(jobs)
    running: dict[Any, Job] = {}
    limit = spec.max_parallel or len(jobs)
    while waiting or running:
        while waiting and len(running) < limit:
            job = waiting.pop(0)
            running[call.remote(job.fn, job.kwargs)] = job
        done, _ = ray.wait(list(running), num_returns=1)
        job = running.pop(done[0])
        try:
            ray.get(done[0])
        except ray.exceptions.RayTaskError as e:
            for ref in running:
                ray.cancel(ref)
            cause = e.cause if isinstance(e.cause, Exception) else e
            raise EmlabError(f"{job.label} failed on Ray: {cause}") from None
        if on_done:
            on_done(job)


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    fn(**kwargs)
