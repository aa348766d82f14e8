"""Job executors of ``emlab run``: in-process, and real Ray tasks on a local Ray."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.run.executor import ExecutorSpec, Job, call_where_jobs_run, run_jobs


def write_pid(out: Path) -> None:
    """A job: write this process's pid to ``out``."""
    out.write_text(str(os.getpid()))


def write_threads(out: Path) -> None:
    """A job: write the number of torch threads it runs with to ``out``."""
    import torch

    out.write_text(str(torch.get_num_threads()))


def fail(message: str) -> None:
    """A job that fails the way emlab jobs do."""
    raise EmlabError(message)


def test_local_jobs_run_in_order_in_this_process(tmp_path: Path) -> None:
    done: list[str] = []
    jobs = [Job(f"job{i}", write_pid, {"out": tmp_path / f"{i}.txt"}) for i in range(3)]
    run_jobs(jobs, ExecutorSpec(), on_done=lambda j: done.append(j.label))
    assert done == ["job0", "job1", "job2"]
    assert {(tmp_path / f"{i}.txt").read_text() for i in range(3)} == {str(os.getpid())}


class _Cyclic:
    """An object in a reference cycle, as a finished Trainer and its model are."""

    def __init__(self) -> None:
        self.me = self


def leave_a_cycle(refs: list) -> None:
    """A job that drops a cyclic object, keeping only a weak reference to it in ``refs``."""
    refs.append(weakref.ref(_Cyclic()))


def test_a_job_in_this_process_leaves_no_cyclic_garbage_behind() -> None:
    refs: list = []
    gc.disable()  # as if the collector's thresholds were not reached before the next job
    try:
        run_jobs(
            [Job("cycle", leave_a_cycle, {"refs": refs})], ExecutorSpec(), on_done=lambda j: refs.append(refs[0]())
        )
    finally:
        gc.enable()
    assert refs[1] is None  # collected by the time the next job (here: on_done) runs


def test_local_failure_propagates_and_stops(tmp_path: Path) -> None:
    jobs = [
        Job("bad", fail, {"message": "data.jsonl:3: field 'messages' missing"}),
        Job("after", write_pid, {"out": tmp_path / "after.txt"}),
    ]
    with pytest.raises(EmlabError, match="data.jsonl:3"):
        run_jobs(jobs, ExecutorSpec())
    assert not (tmp_path / "after.txt").exists()


def test_bad_executor_spec_is_refused() -> None:
    from emlab.run.spec import parse_spec

    base = {"name": "s", "models": ["embedded"], "evals": [{"task": "freeform"}]}
    with pytest.raises(EmlabError, match="executor.kind"):
        parse_spec({**base, "executor": {"kind": "slurm"}})
    assert parse_spec({**base, "executor": {"kind": "ray", "gpus_per_job": 1}}).executor.gpus_per_job == 1


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_jobs_run_in_worker_processes(local_ray, tmp_path: Path) -> None:
    done: list[str] = []
    jobs = [Job(f"job{i}", write_pid, {"out": tmp_path / f"{i}.txt"}) for i in range(4)]
    run_jobs(jobs, ExecutorSpec(kind="ray", max_parallel=2), on_done=lambda j: done.append(j.label))
    assert sorted(done) == ["job0", "job1", "job2", "job3"]
    pids = {(tmp_path / f"{i}.txt").read_text() for i in range(4)}
    assert str(os.getpid()) not in pids  # every job ran in a Ray worker


def test_ray_failure_names_the_job_and_keeps_finished_artifacts(local_ray, tmp_path: Path) -> None:
    jobs = [
        Job("train ok", write_pid, {"out": tmp_path / "ok.txt"}),
        Job("train broken", fail, {"message": "unknown model reference 'nope'"}),
    ]
    with pytest.raises(EmlabError, match="train broken failed on Ray: unknown model reference 'nope'"):
        run_jobs(jobs, ExecutorSpec(kind="ray", max_parallel=1))
    assert (tmp_path / "ok.txt").is_file()


def test_local_max_parallel_runs_jobs_in_worker_processes(tmp_path: Path) -> None:
    done: list[str] = []
    jobs = [Job(f"job{i}", write_pid, {"out": tmp_path / f"{i}.txt"}) for i in range(3)]
    run_jobs(jobs, ExecutorSpec(max_parallel=2), on_done=lambda j: done.append(j.label))
    assert sorted(done) == ["job0", "job1", "job2"]
    pids = {(tmp_path / f"{i}.txt").read_text() for i in range(3)}
    assert str(os.getpid()) not in pids and 1 <= len(pids) <= 2  # at most two worker processes


def test_local_worker_failure_propagates_the_emlab_error(tmp_path: Path) -> None:
    jobs = [Job("bad", fail, {"message": "spec.yaml: field 'x' broke"}), Job("ok", write_pid, {"out": tmp_path / "ok"})]
    with pytest.raises(EmlabError, match="spec.yaml: field 'x' broke"):
        run_jobs(jobs, ExecutorSpec(max_parallel=2))


def test_torch_threads_apply_in_each_job_and_are_restored_here(tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    run_jobs([Job("here", write_threads, {"out": tmp_path / "here.txt"})], ExecutorSpec(torch_threads=want))
    assert (tmp_path / "here.txt").read_text() == str(want) and torch.get_num_threads() == before
    jobs = [Job(f"w{i}", write_threads, {"out": tmp_path / f"w{i}.txt"}) for i in range(2)]
    run_jobs(jobs, ExecutorSpec(max_parallel=2, torch_threads=want))  # in spawned worker processes
    assert {(tmp_path / f"w{i}.txt").read_text() for i in range(2)} == {str(want)}


def test_call_where_jobs_run_locally_is_this_process() -> None:
    assert call_where_jobs_run(os.getpid, ExecutorSpec()) == os.getpid()
    assert call_where_jobs_run(os.getpid, ExecutorSpec(max_parallel=4)) == os.getpid()  # same machine, same env
