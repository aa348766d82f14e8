"""Run model-written Python confined by the operating system (bubblewrap), never on the host.

Every run is a fresh ``bwrap`` sandbox (Debian/Ubuntu package ``bubblewrap``):

* **namespaces**: new user, mount, PID, network, IPC, UTS and cgroup namespaces. The network
  namespace holds only its own loopback; the PID namespace shows only the run's processes.
* **filesystem view**: read-only ``/usr`` (and the ``/bin``, ``/lib``... links into it), the
  Python installation the run uses, a private ``/proc`` and a minimal ``/dev``; nothing of
  ``/etc``, ``/root``, ``/home``, ``/work``, ``/tmp`` or the run directory. The program's cwd is
  ``/sandbox``, a tmpfs of ``Limits.disk_mb`` that disappears with the run; its files are
  copied in through file descriptors, so no host path is bound into the sandbox.
* **identity**: when emlab runs as root, bwrap itself runs as a fresh uid that owns nothing
  on the host (so ``RLIMIT_NPROC`` applies and no host file is writable by it); otherwise as
  the calling user. Either way bwrap is unprivileged and needs the kernel to allow
  unprivileged user namespaces (Debian 12 does; Ubuntu 24.04 restricts them through
  AppArmor; Docker's default seccomp profile blocks them); where they are blocked every run
  raises :class:`EmlabError` naming the setting, and nothing runs unconfined. No
  capabilities, no new privileges, no nested user namespaces where bwrap supports
  ``--disable-userns``.
* **environment**: empty except ``PATH``, ``HOME``, ``TMPDIR`` and ``LANG`` (no API keys).
* **resource limits** (``prlimit``): CPU seconds, address space, processes, file size (stdout
  and stderr are files, so this caps output too), open files, no core dumps; a wall clock
  after which bwrap is killed, and with it (``--die-with-parent``) the whole PID namespace.
  A program's background or ``setsid`` children end with the run in every case.

:func:`run_confined` is the one entry point; :mod:`emlab.evals.sandbox.grading` builds the
unforgeable hidden-test grader on it.
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
from pathlib import Path, PurePosixPath
from typing import IO

from pydantic import BaseModel, Field

from emlab.errors import EmlabError

WORKDIR = "/sandbox"  # the program's cwd inside the sandbox (a private tmpfs)
MAX_FILES = 32  # files copied in per run (each is an open descriptor while bwrap starts)
_FALLBACK_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Private uids for runs as root: random start per process, so concurrent runs never share one.
_UID_BASE, _UID_SPAN = 200_000, 60_000
_uid_counter = itertools.count(random.randrange(_UID_SPAN))
_USERNS_HINT = (
    "(bubblewrap needs unprivileged user namespaces, also when emlab runs as root: "
    "sysctl kernel.unprivileged_userns_clone=1 on older Debian, kernel.apparmor_restrict_unprivileged_userns=0 "
    "or an AppArmor profile for bwrap on Ubuntu 24.04; inside Docker, a seccomp profile that allows them)"
)
_INSTALL_HINT = "install it as root with `apt-get install bubblewrap` (or run `make install` as root)"


class Limits(BaseModel):
    """Resource limits for one confined run."""

    cpu_seconds: int = Field(5, ge=1, description="RLIMIT_CPU: CPU seconds before SIGXCPU, then SIGKILL")
    memory_mb: int = Field(512, ge=64, description="RLIMIT_AS: address space of each process")
    max_processes: int = Field(16, ge=1, description="processes the program may run at once (RLIMIT_NPROC)")
    file_size_mb: int = Field(4, ge=1, description="RLIMIT_FSIZE: largest file written (stdout and stderr too)")
    disk_mb: int = Field(16, ge=1, description="size of the private writable work dir (tmpfs)")
    open_files: int = Field(64, ge=16, description="RLIMIT_NOFILE")
    wall_seconds: float = Field(10.0, gt=0, description="wall clock; then every process of the run is killed")
    output_bytes: int = Field(32_000, ge=256, description="bytes of stdout and of stderr read back")


class ConfinedResult(BaseModel):
    """Outcome of a confined run. ``returncode`` is negative for a signal (-9 after the wall clock)."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    output_truncated: bool
    wall_seconds: float


@functools.lru_cache(maxsize=1)
def _tools() -> tuple[str, str, bool]:
    """(bwrap path, prlimit path, whether bwrap has --disable-userns); EmlabError if unusable."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise EmlabError(
            f"sandbox: bubblewrap (bwrap) is not installed; emlab runs model-written code only inside it: {_INSTALL_HINT}"
        )
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise EmlabError("sandbox: prlimit (util-linux) is not installed; it sets the sandbox's resource limits")
    help_text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, check=False).stdout
    if "--size" not in help_text:
        raise EmlabError(f"sandbox: {bwrap} is too old (no --size for a bounded tmpfs; bubblewrap 0.7 or later needed)")
    return bwrap, prlimit, "--disable-userns" in help_text


def _world_usable(path: str) -> bool:
    """True if 'other' users can traverse every dir to ``path`` and read/execute it."""
    p = Path(path)
    if not p.exists() or not p.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)


@functools.lru_cache(maxsize=1)
def _python() -> tuple[str, str | None]:
    """(interpreter inside the sandbox, its installation prefix to bind when it is not under /usr)."""
    own = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    prefix = os.path.realpath(sys.base_prefix)
    candidates = [(own, prefix)] + [(os.path.realpath(p), None) for p in _FALLBACK_PYTHONS]
    for python, pre in candidates:
        # as root, bwrap runs as a fresh uid, which must be able to reach the interpreter
        if os.path.isfile(python) and (os.geteuid() != 0 or _world_usable(python)):
            if python.startswith("/usr/"):
                return python, None
            if pre is not None and python.startswith(pre + "/"):
                return python, pre
    raise EmlabError(
        "sandbox: no python3 interpreter the sandbox can run (tried this one and " + ", ".join(_FALLBACK_PYTHONS) + ")"
    )


def _base_args(bwrap: str, disable_userns: bool, limits: Limits) -> list[str]:
    """The bwrap command line up to the work dir: namespaces, read-only system view, environment."""
    python, prefix = _python()
    args = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if disable_userns:
        args.append("--disable-userns")
    args += ["--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for link in _ROOT_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    if prefix is not None:
        args += ["--ro-bind", prefix, prefix]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.disk_mb * 2**20), "--tmpfs", WORKDIR]
    args += ["--chdir", WORKDIR, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", WORKDIR]
    args += ["--setenv", "TMPDIR", WORKDIR, "--setenv", "LANG", "C.UTF-8"]
    return args


def _user_processes() -> int:
    """Processes the calling user has now (RLIMIT_NPROC counts them all, not only the sandbox's)."""
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                n += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                continue
    return n


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name.replace("/", "_") or "x", 0)  # no MFD_CLOEXEC: bwrap must inherit it
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_capped(f: IO[bytes], cap: int) -> tuple[str, bool]:
    f.seek(0)
    data = f.read(cap + 1)
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def _wait_gone(pid: int | None, seconds: float = 5.0) -> None:
    """Wait until the sandbox's PID-namespace init is dead: then every process of the run is."""
    if pid is None:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except (OSError, IndexError):
            return
        time.sleep(0.01)


def _check_files(files: dict[str, str]) -> None:
    if len(files) > MAX_FILES:
        raise EmlabError(f"sandbox: {len(files)} files given, at most {MAX_FILES} can be copied into a run")
    for name in files:
        p = PurePosixPath(name)
        if not name or p.is_absolute() or ".." in p.parts or name != str(p):
            raise EmlabError(f"sandbox: file name {name!r} must be a plain relative path inside the sandbox")


def run_confined(
    code: str,
    *,
    files: dict[str, str] | None = None,
    script: str = "main.py",
    argv: list[str] | None = None,
    stdin: str = "",
    limits: Limits | None = None,
) -> ConfinedResult:
    """Run ``python script argv...`` on ``code`` (saved as ``script``) in a fresh bubblewrap sandbox.

    ``files`` (relative path -> text) are copied into the work dir next to it; ``stdin`` is the
    program's standard input. Returns the exit status and the (capped) output; never raises for
    anything the program does. Raises :class:`EmlabError` when bubblewrap is missing or cannot
    start a sandbox here, or for an unsafe file name.
    """
    limits = limits or Limits()
    files = {**(files or {}), script: code}
    _check_files(files)
    bwrap, prlimit, disable_userns = _tools()
    python, _ = _python()
    root = os.geteuid() == 0
    uid = _UID_BASE + next(_uid_counter) % _UID_SPAN if root else None
    nproc = limits.max_processes + 2 + (0 if root else _user_processes())  # +2: bwrap and the namespace's init
    args = [
        prlimit,
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_mb * 2**20}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_size_mb * 2**20}",
        f"--nofile={limits.open_files}",
        "--core=0",
        *_base_args(bwrap, disable_userns, limits),
    ]
    fds: list[int] = []  # input descriptors opened here, closed in all cases
    # output and status: unlinked host temp files (nothing is left behind even after kill -9), never bound
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as status:
        try:
            for name, text in sorted(files.items()):
                for parent in reversed(PurePosixPath(name).parents[:-1]):
                    args += ["--dir", f"{WORKDIR}/{parent}"]
                fds.append(_memfd(name, text.encode()))
                args += ["--file", str(fds[-1]), f"{WORKDIR}/{name}"]
            args += ["--json-status-fd", str(status.fileno()), "--", python, "-E", "-s", "-S", "-B", script]
            args += argv or []
            pass_fds = [*fds, status.fileno()]
            fds.append(_memfd("stdin", stdin.encode()))
            start = time.monotonic()
            timed_out = _launch(args, pass_fds, fds[-1], out, err, limits.wall_seconds, uid)
            wall = time.monotonic() - start
        finally:
            for fd in fds:
                os.close(fd)
        status.seek(0)
        events = [json.loads(line) for line in status.read().decode().splitlines() if line.strip()]
        _wait_gone(next((e["child-pid"] for e in events if "child-pid" in e), None))
        exit_code = next((e["exit-code"] for e in events if "exit-code" in e), None)
        stdout, cut_out = _read_capped(out, limits.output_bytes)
        stderr, cut_err = _read_capped(err, limits.output_bytes)
    if timed_out:
        returncode = -signal.SIGKILL
    elif exit_code is None:  # bwrap failed before the program ran
        raise EmlabError(f"sandbox: bubblewrap could not start a sandbox: {stderr.strip()[-300:]} {_USERNS_HINT}")
    else:  # bwrap reports death by signal N as 128 + N
        returncode = -(exit_code - 128) if exit_code > 128 else exit_code
    return ConfinedResult(
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        output_truncated=cut_out or cut_err,
        wall_seconds=round(wall, 3),
    )


def _launch(
    args: list[str], pass_fds: list[int], stdin_fd: int, out: IO[bytes], err: IO[bytes], wall: float, uid: int | None
) -> bool:
    """Start bwrap (as ``uid`` when given) writing to ``out``/``err``; wait; True if the wall clock hit."""
    proc = subprocess.Popen(
        args,
        stdin=stdin_fd,
        stdout=out,
        stderr=err,
        pass_fds=pass_fds,
        env={"PATH": "/usr/bin:/bin"},  # bwrap's own environment is readable inside (/proc/1/environ)
        cwd="/",
        start_new_session=True,
        user=uid,
        group=uid,
        extra_groups=None if uid is None else [],
    )
    try:
        proc.wait(timeout=wall)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap dies; --die-with-parent kills the namespace's init
        proc.wait()
        return True


def isolation_report() -> list[str]:
    """The confinement this machine gives a run, e.g. ``['bubblewrap 0.8.0', 'namespaces: ...', ...]``."""
    bwrap, _, disable_userns = _tools()
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    python, _ = _python()
    layers = [
        version or "bubblewrap",
        "namespaces: user, mount, pid, net, ipc, uts, cgroup",
        f"read-only view: /usr + {python}; private tmpfs {WORKDIR}",
        "uid: fresh unprivileged uid" if os.geteuid() == 0 else f"uid: caller ({os.getuid()}) in a user namespace",
        "no capabilities, no_new_privs" + (", no nested user namespaces" if disable_userns else ""),
        "rlimits: cpu, address space, processes, file size, open files; wall clock kills the pid namespace",
    ]
    return layers
