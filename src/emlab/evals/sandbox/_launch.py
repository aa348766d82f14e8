"""Trusted launcher for :func:`emlab.evals.sandbox.runner.run_confined` (runs as a child process).

Reads one JSON config from ``argv[1]``, then, in this order:

1. leaves the host network: a fresh network namespace via ``unshare(2)`` (as root
   directly; as another user inside a new user namespace), where only a downed
   loopback exists;
2. sets resource limits (CPU seconds, address space, processes, file size, open files, no core);
3. as root, drops to the run's throw-away uid/gid (so RLIMIT_NPROC applies and host files
   owned by root cannot be written);
4. ``exec``\\ s the untrusted interpreter on the guard script.

Steps 1-4 happen in a forked child. The launcher itself stays outside, as a *child
subreaper*: it enforces the wall-clock timeout, then kills every process the program
left behind (all processes of the run's uid, or its process group) and reaps them, so a
fork bomb leaves no zombies. It writes ``{"returncode", "timed_out"}`` to ``cfg["status"]``.

Nothing here imports emlab: the launcher must start fast and depend on the stdlib only.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_CHILD_SUBREAPER = 36


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare failed: {os.strerror(err)}")


def _leave_network() -> None:
    """Move into a new, empty network namespace (root: directly; else via a user namespace)."""
    if os.geteuid() == 0:
        _unshare(CLONE_NEWNET)
        return
    uid, gid = os.geteuid(), os.getegid()
    _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    # Map our own ids 1:1 so files we create keep a valid owner on the host filesystem.
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _confine_and_exec(cfg: dict) -> None:
    """In the forked child: apply the confinement and exec the guarded interpreter (never returns)."""
    os.setpgid(0, 0)  # its own process group, so leftovers can be killed without killing us
    if cfg["isolate_network"]:
        _leave_network()
    for name, value in cfg["rlimits"].items():  # name -> value, e.g. {"RLIMIT_CPU": 5}
        resource.setrlimit(getattr(resource, name), (value, value))
    if os.geteuid() == 0 and cfg["uid"] is not None:
        os.setgroups([])
        os.setgid(cfg["uid"])
        os.setuid(cfg["uid"])
    os.chdir(cfg["workdir"])
    env = {"PATH": "/usr/bin:/bin", "HOME": cfg["workdir"], "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [cfg["python"], "-I", "-B", cfg["guard"], cfg["workdir"], *cfg["argv"]]
    os.execve(cfg["python"], argv, env)


def _kill_leftovers(uid: int | None, pgid: int) -> None:
    """SIGKILL what the program left: every process of its private uid, else its process group."""
    if uid is None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    for _ in range(5):  # a fork bomb may still be spawning while we kill
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/status") as f:
                        owner = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
                except (OSError, StopIteration):
                    continue
                if owner == uid:
                    pids.append(int(entry))
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _reap_all() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def main() -> None:
    """Fork the confined program, enforce its wall-clock limit, clean up, record its status."""
    cfg = json.loads(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of the program become ours to reap
    child = os.fork()
    if child == 0:
        try:
            _confine_and_exec(cfg)
        finally:
            os._exit(125)  # confinement failed: never run the program unconfined
    deadline = time.monotonic() + cfg["wall_seconds"]
    status, timed_out = None, False
    while status is None:
        pid, raw = os.waitpid(child, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(raw)
        elif time.monotonic() > deadline:
            timed_out = True
            os.kill(child, signal.SIGKILL)
            status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        else:
            time.sleep(0.01)
    _kill_leftovers(cfg["uid"], child)
    _reap_all()
    with open(cfg["status"], "w") as f:
        json.dump({"returncode": status, "timed_out": timed_out}, f)


if __name__ == "__main__":
    main()
