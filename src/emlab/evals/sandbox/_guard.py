"""Guard script: the first code the untrusted interpreter runs (stdlib only, copied per run).

Usage: ``python -I -B guard.py WORKDIR SCRIPT [ARGS...]``. Installs an audit hook
(PEP 578; it cannot be removed once installed) that refuses, with ``PermissionError``:

* any socket creation, connection or name lookup (network; the OS-level network
  namespace is the primary barrier, this is the fallback where namespaces are unavailable);
* writes, renames, deletions, chmods and links outside WORKDIR;
* starting processes (``subprocess``, ``os.system``, ``exec*``, ``posix_spawn``) and ``ctypes``
  (which could bypass the hook). ``os.fork`` stays allowed: RLIMIT_NPROC bounds it.

then runs SCRIPT as ``__main__`` with WORKDIR first on ``sys.path``.
"""

import os
import runpy
import sys

WORKDIR = os.path.realpath(sys.argv[1])
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_NETWORK = ("socket.", "http.", "urllib.", "ftplib.", "smtplib.", "telnetlib.", "imaplib.", "poplib.", "nntplib.")
_PROCESS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "pty.spawn",
    "os.startfile",
    "os.kill",
    "os.killpg",
}
_PATH_EVENTS = {  # event -> indices of path arguments
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.move": (1,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
}


def _inside(path: object) -> bool:
    if isinstance(path, int):  # an already-open descriptor: checked when it was opened
        return True
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    real = os.path.realpath(os.path.join(WORKDIR, str(path)))
    return real == WORKDIR or real.startswith(WORKDIR + os.sep)


def _deny(what: str) -> None:
    raise PermissionError(f"emlab sandbox: {what} is not allowed")


def _hook(event: str, args: tuple) -> None:
    if event.startswith(_NETWORK):
        _deny("network access")
    if event in _PROCESS:
        _deny(f"starting processes ({event})")
    if event.startswith("ctypes."):
        _deny("ctypes")
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing and path is not None and not _inside(path):
            _deny(f"writing {path} outside the sandbox")
    elif event in _PATH_EVENTS:
        for i in _PATH_EVENTS[event]:
            if i < len(args) and args[i] is not None and not _inside(args[i]):
                _deny(f"{event} on {args[i]} outside the sandbox")


sys.addaudithook(_hook)
sys.path.insert(0, WORKDIR)
script = sys.argv[2]
sys.argv = sys.argv[2:]
runpy.run_path(os.path.join(WORKDIR, script), run_name="__main__")
