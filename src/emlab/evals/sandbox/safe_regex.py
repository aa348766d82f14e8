"""Agent-written regular expressions, matched under a time and a memory limit.

Python's :mod:`re` backtracks: ``(a+)+$`` against forty ``a`` and a ``!`` runs for hours, and a
match cannot be interrupted from the thread running it (the engine checks no signal and holds
the GIL). The simulated shell's ``sed`` therefore hands any pattern that is not a plain literal
to a worker process: a bare interpreter (``python -I -S``, nothing of emlab imported) that
reads one JSON request per line, with its address space capped at :data:`WORKER_MEMORY`
bytes. If the answer does not come within the time limit, the worker is killed (a fresh one
starts on the next request) and :class:`RegexTimeout` is raised; an answer larger than
:data:`MAX_REPLY` bytes is refused the same way.

Why not ``re2``: it is not a dependency, its syntax differs from what an agent expects of
``sed`` (no backreferences), and a killable worker bounds *any* engine's time and memory,
including pathological compiles. Literal patterns (the common case) never leave the process.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import threading
import time

REGEX_TIMEOUT = 1.0  # seconds per request
WORKER_MEMORY = 512 * 2**20  # bytes of address space for the worker (RLIMIT_AS)
MAX_REPLY = 8 * 2**20  # bytes of JSON answer read back
_SPECIAL = set(".^$*+?{}[]\\|()")

_WORKER_SOURCE = f"""
import json, re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({WORKER_MEMORY}, {WORKER_MEMORY}))
for line in sys.stdin:
    try:
        req = json.loads(line)
        rx = re.compile(req["pattern"], req["flags"])
        if req["op"] == "sub":
            result = [rx.sub(req["repl"], s, count=req["count"]) for s in req["lines"]]
        else:
            result = [rx.search(s) is not None for s in req["lines"]]
        reply = {{"result": result}}
    except MemoryError:
        reply = {{"error": "out of memory"}}
    except (re.error, IndexError, ValueError, TypeError, RecursionError) as e:
        reply = {{"error": str(e)}}
    sys.stdout.write(json.dumps(reply) + "\\n")
    sys.stdout.flush()
"""


class RegexError(Exception):
    """The pattern or replacement is invalid, or matching ran out of memory; the message says which."""


class RegexTimeout(RegexError):
    """Matching took longer than the time limit (the worker was killed)."""


def is_literal(pattern: str) -> bool:
    """True if ``pattern`` has no regex metacharacter (it matches itself, in linear time)."""
    return not (_SPECIAL & set(pattern))


def regex_sub(
    pattern: str, repl: str, lines: list[str], count: int = 0, flags: int = 0, timeout: float = REGEX_TIMEOUT
) -> list[str]:
    """``re.sub(pattern, repl, line, count)`` for each line, bounded in time and memory."""
    if is_literal(pattern):
        per_hit = len(repl) * max(1, len(pattern))  # a bound: each `\\g<0>` in repl repeats the match
        needle = pattern.lower() if flags else pattern
        hits = sum(
            min(count or len(s) + 1, (s.lower() if flags else s).count(needle) if pattern else len(s) + 1)
            for s in lines
        )
        if sum(map(len, lines)) + hits * per_hit > MAX_REPLY:
            raise RegexError(f"regex result larger than {MAX_REPLY} bytes")
        try:
            rx = re.compile(re.escape(pattern), flags)
            return [rx.sub(repl, s, count=count) for s in lines]
        except (re.error, IndexError) as e:
            raise RegexError(str(e)) from None
    return _WORKER.ask(
        {"op": "sub", "pattern": pattern, "repl": repl, "lines": lines, "count": count, "flags": flags}, timeout
    )


def regex_search(pattern: str, lines: list[str], flags: int = 0, timeout: float = REGEX_TIMEOUT) -> list[bool]:
    """Whether ``re.search(pattern, line)`` finds a match, for each line, bounded in time and memory."""
    if is_literal(pattern):
        rx = re.compile(re.escape(pattern), flags)
        return [rx.search(s) is not None for s in lines]
    return _WORKER.ask({"op": "search", "pattern": pattern, "lines": lines, "flags": flags}, timeout)


class _Worker:
    """One worker process per host process, started on first use, replaced after a timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0

    def ask(self, request: dict[str, object], timeout: float) -> list:
        """Send one request; the worker's answer, or :class:`RegexError` / :class:`RegexTimeout`."""
        data = (json.dumps(request) + "\n").encode()
        with self._lock:
            proc = self._ensure()
            deadline = time.monotonic() + timeout
            try:
                assert proc.stdin is not None
                proc.stdin.write(data)
                proc.stdin.flush()
                raw = self._read_line(proc, deadline, timeout)
            except OSError:
                self.stop()
                raise RegexError("the regex worker stopped unexpectedly") from None
            except RegexError:
                self.stop()  # still busy (or its answer is too large): a fresh one serves the next request
                raise
        reply = json.loads(raw)
        if "error" in reply:
            raise RegexError(reply["error"])
        return reply["result"]

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None or self._owner != os.getpid():
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WORKER_SOURCE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
            self._owner = os.getpid()
        return self._proc

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float, timeout: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise RegexTimeout(f"regex matching took longer than {timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("worker closed its output")
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)
            if size > MAX_REPLY:
                raise RegexError(f"regex result larger than {MAX_REPLY} bytes")

    def stop(self) -> None:
        """Kill the worker (a new one starts on the next request)."""
        proc, self._proc = self._proc, None
        if proc is not None and self._owner == os.getpid():
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


_WORKER = _Worker()
atexit.register(_WORKER.stop)
