"""Where the jobs of ``emlab run`` execute: in this process, in local worker processes, or as Ray tasks.

A job is a module-level function plus keyword arguments (so it can be pickled) that writes
one artifact atomically (an adapter dir, an Inspect log, a testbed model or its scores).
Because every artifact is keyed by a hash of its config, the executors produce the same run
dir, and a run interrupted on one resumes on any. With Ray, the run dir must be on storage
every node sees::

    executor: {kind: local}                                # one job at a time, in this process
    executor: {kind: local, max_parallel: 2}               # 2 jobs at a time, in spawned processes
    executor: {kind: local, max_parallel: 2, torch_threads: 1}  # the same, one torch thread each (2 cores)
    executor: {kind: ray}                                  # start a local Ray on this machine
    executor: {kind: ray, address: auto, gpus_per_job: 1}  # join a cluster; one GPU per job

:func:`call_where_jobs_run` evaluates a function where the jobs will run (a Ray worker with
the jobs' resources), for settings that depend on the machine, such as ``precision: auto``.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
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
        None,
        ge=1,
        description="at most this many jobs at once; local: None or 1 runs them in this process, more in "
        "that many spawned processes; ray: None as resources allow",
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        description="torch threads in each job (None: torch's default). On a CPU, 1 with max_parallel = the "
        "cores: torch's default threads of parallel jobs fight for the cores and run many times slower",
    )


@dataclass
class Job:
    """One unit of work: ``fn(**kwargs)``, shown as ``label`` in progress and errors."""

    label: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


def run_jobs(jobs: list[Job], spec: ExecutorSpec, on_done: Callable[[Job], None] | None = None) -> None:
    """Run ``jobs`` with ``spec``; call ``on_done(job)`` after each; stop with :class:`EmlabError` on a failure.

    Locally, an :class:`EmlabError` raised by a job propagates unchanged (from a worker
    process too). Under Ray, the first failed job's error is re-raised as an
    :class:`EmlabError` naming the job. Either way jobs already finished keep their artifacts
    (a re-run skips them) and jobs not yet started are not started.
    """
    if spec.kind == "ray":
        _run_ray(jobs, spec, on_done)
    elif not runs_in_this_process(spec, len(jobs)):
        _run_processes(jobs, spec.max_parallel or 1, spec.torch_threads, on_done)
    else:
        for job in jobs:
            _call(job.fn, job.kwargs, spec.torch_threads)
            if on_done:
                on_done(job)


def runs_in_this_process(spec: ExecutorSpec, n_jobs: int = 2) -> bool:
    """Whether ``spec`` runs ``n_jobs`` jobs one at a time in this process (so they may take unpicklable arguments)."""
    return spec.kind == "local" and ((spec.max_parallel or 1) == 1 or n_jobs <= 1)


def call_where_jobs_run(fn: Callable[..., Any], spec: ExecutorSpec, **kwargs: Any) -> Any:
    """``fn(**kwargs)`` evaluated where ``spec``'s jobs run: here, or in a Ray task with a job's resources.

    For settings that depend on the machine (``auto`` precision, the inference dtype), so that
    an artifact's key names what its job will really do. Local worker processes share this
    machine and environment, so they get this process's answer.
    """
    if spec.kind == "local":
        return fn(**kwargs)
    ray = _ray(spec)
    call = ray.remote(num_cpus=spec.cpus_per_job, num_gpus=spec.gpus_per_job, max_retries=0)(_call)
    try:
        return ray.get(call.remote(fn, kwargs))
    except ray.exceptions.RayTaskError as e:
        cause = e.cause if isinstance(e.cause, Exception) else e
        raise EmlabError(f"probing the Ray workers failed: {cause}") from None


def _run_processes(jobs: list[Job], n: int, threads: int | None, on_done: Callable[[Job], None] | None) -> None:
    """Run ``jobs`` in ``n`` spawned worker processes (fresh interpreters: no state shared with this one)."""
    pool = ProcessPoolExecutor(min(n, len(jobs)), multiprocessing.get_context("spawn"))
    with pool:
        running: dict[Future[Any], Job] = {pool.submit(_call, job.fn, job.kwargs, threads): job for job in jobs}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                error = future.exception()
                if error is not None:
                    for other in running:
                        other.cancel()
                    if isinstance(error, EmlabError):
                        raise error
                    raise EmlabError(f"{job.label} failed in a worker process: {type(error).__name__}: {error}")
                if on_done:
                    on_done(job)


def _ray(spec: ExecutorSpec) -> Any:
    """The ``ray`` module, connected to ``spec``'s cluster (or a local Ray it starts)."""
    try:
        import ray  # deferred: an optional extra, needed only by this executor
    except ImportError:
        raise EmlabError("executor 'ray' needs Ray: pip install 'emlab[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=spec.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except ConnectionError as e:
            raise EmlabError(f"cannot reach the Ray cluster at {spec.address}: {e}") from None
    return ray


def _run_ray(jobs: list[Job], spec: ExecutorSpec, on_done: Callable[[Job], None] | None) -> None:
    ray = _ray(spec)
    call = ray.remote(num_cpus=spec.cpus_per_job, num_gpus=spec.gpus_per_job, max_retries=0)(_call)
    waiting = list(jobs)
    running: dict[Any, Job] = {}
    limit = spec.max_parallel or len(jobs)
    while waiting or running:
        while waiting and len(running) < limit:
            job = waiting.pop(0)
            running[call.remote(job.fn, job.kwargs, spec.torch_threads)] = job
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


def _call(fn: Callable[..., Any], kwargs: dict[str, Any], threads: int | None = None) -> Any:
    """``fn(**kwargs)`` with ``threads`` torch threads (None: as they are), restored afterwards; then free its memory."""
    before = None
    if threads is not None:
        import torch  # deferred: only a job that sets its threads needs torch here

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        return fn(**kwargs)
    finally:
        if before is not None:
            torch.set_num_threads(before)
        _release_memory()


def _release_memory() -> None:
    """Collect the reference cycles a finished job left and hand freed memory back to the OS.

    A transformers ``Trainer`` and its model sit in reference cycles (callbacks, accelerate hooks),
    so a finished training keeps its weights until the cyclic collector runs; and glibc keeps freed
    heap pages for reuse. Measured on Qwen2.5-1.5B after a LoRA training in this process: 9.8 GB
    resident, 3.5 GB after ``gc.collect()``, 0.7 GB after ``malloc_trim`` — so without this each job
    of ``emlab run`` started on top of the last one's memory.
    """
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            pass
