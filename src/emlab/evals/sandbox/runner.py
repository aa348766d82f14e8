"""Run model-written Python confined: throw-away dir, resource limits, no network, output cap.

Layers, outermost first (see ``_launch.py`` and ``_guard.py`` for the mechanics):

* **throw-away directory** under the system temp dir, removed after the run; the
  program's cwd and the only place it may write.
* **unprivileged identity** (when emlab runs as root): the program runs as a fresh uid
  that owns nothing on the host but its work dir, so OS permissions stop writes elsewhere
  and RLIMIT_NPROC (ignored for root) bounds fork bombs. After the run every process of
  that uid is killed.
* **no network**: a new network namespace (``unshare(2)``; as non-root through a user
  namespace). Where namespaces are unavailable, only the guard's audit hook blocks sockets;
  :func:`isolation_report` says which layers are active.
* **resource limits**: RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE,
  no core dumps; a wall-clock timeout, after which every process the program
  started is killed and reaped.
* **output cap**: stdout/stderr go to files bounded by RLIMIT_FSIZE, and at most
  ``Limits.output_bytes`` of each is read back.
* **audit hook** in the interpreter: no sockets, no process spawning, no ctypes, no writes
  outside the work dir (defence in depth; see ``_guard.py``).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from emlab.errors import EmlabError

_HERE = Path(__file__).resolve().parent
_FALLBACK_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")
# Private uids for runs (as root): concurrent runs in one process never share one, since the
# launcher kills every process of its run's uid afterwards. Random start across processes.
_UID_BASE, _UID_SPAN = 200_000, 60_000
_uid_counter = itertools.count(random.randrange(_UID_SPAN))


class Limits(BaseModel):
    """Resource limits for one confined run."""

    cpu_seconds: int = Field(5, ge=1, description="RLIMIT_CPU: CPU seconds before SIGXCPU/SIGKILL")
    memory_mb: int = Field(512, ge=64, description="RLIMIT_AS: address space")
    max_processes: int = Field(16, ge=1, description="RLIMIT_NPROC for the sandbox uid")
    file_size_mb: int = Field(4, ge=1, description="RLIMIT_FSIZE: largest file (stdout included)")
    open_files: int = Field(64, ge=16, description="RLIMIT_NOFILE")
    wall_seconds: float = Field(10.0, gt=0, description="wall-clock timeout; the process group is killed")
    output_bytes: int = Field(32_000, ge=256, description="bytes of stdout/stderr kept")


class RunResult(BaseModel):
    """Outcome of a confined run. ``returncode`` is negative for a signal (e.g. -9 after a timeout)."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    output_truncated: bool
    wall_seconds: float
    isolation: list[str]


def _world_executable(path: str) -> bool:
    """True if every dir on the path is traversable and the file executable by 'other' users."""
    p = Path(os.path.realpath(path))
    if not p.is_file() or not p.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)


@functools.lru_cache(maxsize=1)
def _sandbox_python() -> str:
    """An interpreter the sandbox uid can run: this one if reachable, else a system python3."""
    if os.geteuid() != 0 or _world_executable(sys.executable):
        return sys.executable
    for candidate in _FALLBACK_PYTHONS:
        if _world_executable(candidate):
            return candidate
    raise EmlabError(
        "sandbox: no python3 executable by an unprivileged user (tried " + ", ".join(_FALLBACK_PYTHONS) + ")"
    )


@functools.lru_cache(maxsize=1)
def _network_namespace_works() -> bool:
    """Probe once per process whether the launcher can enter a new network namespace."""
    probe = "import ctypes,sys; sys.path.insert(0, sys.argv[1]); import _launch; _launch._leave_network()"
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", probe, str(_HERE)], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def isolation_report() -> list[str]:
    """The confinement layers active on this machine, e.g. ``['netns', 'uid-drop', 'rlimits', ...]``."""
    layers = ["tempdir", "rlimits", "wall-timeout", "output-cap", "audit-hook"]
    if _network_namespace_works():
        layers.insert(0, "netns")
    if os.geteuid() == 0:
        layers.insert(0, "uid-drop")
    return layers


def _read_capped(path: Path, cap: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def run_confined(
    files: dict[str, str], script: str, args: list[str] | None = None, limits: Limits | None = None, stdin: str = ""
) -> RunResult:
    """Write ``files`` (relative path -> text) into a fresh dir and run ``python script args`` confined.

    ``stdin`` is written to the program's standard input (then closed).

    Returns the (capped) output and exit status; never raises for anything the program does.
    The dir is removed afterwards. Raises :class:`EmlabError` for an unsafe file name.
    """
    limits = limits or Limits()
    for name in files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise EmlabError(f"sandbox: file name {name!r} must be relative and stay inside the sandbox")
    if script not in files:
        raise EmlabError(f"sandbox: script {script!r} is not among the files")
    base = Path(tempfile.mkdtemp(prefix="emlab-sbx-"))
    os.chmod(base, 0o755)  # root-owned: the sandbox uid can read the guard but not replace it
    work = base / "work"
    work.mkdir()
    uid = _UID_BASE + next(_uid_counter) % _UID_SPAN if os.geteuid() == 0 else None
    try:
        shutil.copyfile(_HERE / "_guard.py", base / "guard.py")
        for name, text in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, encoding="utf-8")
        if uid is not None:
            for p in [work, *work.rglob("*")]:
                os.chown(p, uid, uid)
        nproc = limits.max_processes
        if uid is None:  # RLIMIT_NPROC counts all of this user's processes, not only ours
            nproc += sum(1 for p in Path("/proc").iterdir() if p.name.isdigit())
        rlimits = {
            "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_AS": limits.memory_mb * 2**20,
            "RLIMIT_NPROC": nproc,
            "RLIMIT_FSIZE": limits.file_size_mb * 2**20,
            "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CORE": 0,
        }
        cfg = {
            "isolate_network": _network_namespace_works(),
            "rlimits": rlimits,
            "uid": uid,
            "workdir": str(work),
            "python": _sandbox_python(),
            "guard": str(base / "guard.py"),
            "argv": [script, *(args or [])],
            "wall_seconds": limits.wall_seconds,
            "status": str(base / "status.json"),
        }
        start = time.monotonic()
        with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(_HERE / "_launch.py"), json.dumps(cfg)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
                cwd=work,
            )
            try:
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            except BrokenPipeError:  # the program exited without reading
                pass
            try:  # the launcher enforces wall_seconds itself; this is a backstop
                proc.wait(timeout=limits.wall_seconds + 15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wall = time.monotonic() - start
        if not (base / "status.json").is_file():
            raise EmlabError(
                f"sandbox launcher failed (exit {proc.returncode}): {(base / 'stderr').read_text()[-500:]}"
            )
        status = json.loads((base / "status.json").read_text())
        stdout, cut_out = _read_capped(base / "stdout", limits.output_bytes)
        stderr, cut_err = _read_capped(base / "stderr", limits.output_bytes)
        return RunResult(
            returncode=status["returncode"],
            stdout=stdout,
            stderr=stderr,
            timed_out=status["timed_out"],
            output_truncated=cut_out or cut_err,
            wall_seconds=round(wall, 3),
            isolation=isolation_report(),
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
