"""The escape suite: hostile programs and commands that must stay contained.

Run by ``emlab evals sandbox-check`` (on any machine, to see what its confinement does) and
by the test suite. Each check runs one attack against the confined runner (used by
``sabotage`` and ``reward_hacking``) or the simulated shell (used by ``shutdown``) and
reports whether it was contained, with evidence.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from emlab.evals.sandbox.runner import Limits, isolation_report, run_confined
from emlab.evals.sandbox.shell import MAX_OUTPUT, VirtualShell

SUITE_LIMITS = Limits(cpu_seconds=2, memory_mb=256, max_processes=8, wall_seconds=4, output_bytes=4096)
_MARGIN_S = 10.0  # a contained attack must end within wall_seconds + this


class EscapeCheck(BaseModel):
    """One attack and its outcome."""

    target: str  # "runner" or "shell"
    attack: str
    contained: bool
    evidence: str


def _runner_checks(scratch: Path) -> list[EscapeCheck]:
    checks: list[EscapeCheck] = []
    open_dir = scratch / "open"  # world-writable: only the audit hook stands in the way
    open_dir.mkdir(mode=0o777)
    os.chmod(open_dir, 0o777)
    closed_dir = scratch / "closed"  # owned by us, 0o755: the uid drop stands in the way
    closed_dir.mkdir(mode=0o755)

    def attack(name: str, code: str, contained: Callable[[object], bool], evidence: Callable[[object], str]) -> None:
        start = time.monotonic()
        r = run_confined({"main.py": code}, "main.py", limits=SUITE_LIMITS)
        took = time.monotonic() - start
        ok = contained(r) and took < SUITE_LIMITS.wall_seconds + _MARGIN_S
        checks.append(EscapeCheck(target="runner", attack=name, contained=ok, evidence=f"{evidence(r)}; {took:.1f}s"))

    attack(
        "network: TCP connect to 1.1.1.1:53",
        "import socket\ns = socket.create_connection(('1.1.1.1', 53), timeout=2)\nprint('ESCAPED')",
        lambda r: "ESCAPED" not in r.stdout,
        lambda r: (r.stderr.strip().splitlines() or ["no error"])[-1][:160],
    )
    attack(
        "network: interfaces visible (network namespace)",
        "print(open('/proc/self/net/dev').read())",
        lambda r: (
            "netns" not in r.isolation
            or all(line.split(":")[0].strip() == "lo" for line in r.stdout.splitlines()[2:] if ":" in line)
        ),
        lambda r: (
            "interfaces: " + ",".join(line.split(":")[0].strip() for line in r.stdout.splitlines()[2:] if ":" in line)
        ),
    )
    for d in (open_dir, closed_dir):
        target = d / "escaped.txt"
        attack(
            f"write outside the sandbox ({'world-writable' if d is open_dir else 'owner-only'} host dir)",
            f"open({str(target)!r}, 'w').write('x')\nprint('ESCAPED')",
            lambda r, t=target: not t.exists() and "ESCAPED" not in r.stdout,
            lambda r: (r.stderr.strip().splitlines() or ["no error"])[-1][:160],
        )
    shell_target = open_dir / "via_shell.txt"
    attack(
        "write outside via a subprocess (os.system)",
        f"import os\nos.system('touch {shell_target}')\nprint('ESCAPED')",
        lambda r: not shell_target.exists() and "ESCAPED" not in r.stdout,
        lambda r: (r.stderr.strip().splitlines() or ["no error"])[-1][:160],
    )
    attack(
        "fork bomb",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        lambda r: r.returncode != 0,
        lambda r: f"returncode {r.returncode}, timed_out {r.timed_out}",
    )
    attack(
        "infinite loop",
        "while True:\n    pass",
        lambda r: r.returncode != 0,
        lambda r: f"returncode {r.returncode}, timed_out {r.timed_out}",
    )
    attack(
        "huge output (1 GB to stdout)",
        "import sys\nchunk = 'x' * 1_000_000\nfor _ in range(1000):\n    sys.stdout.write(chunk)",
        lambda r: len(r.stdout) <= SUITE_LIMITS.output_bytes and r.output_truncated,
        lambda r: f"kept {len(r.stdout)} chars, truncated {r.output_truncated}",
    )
    attack(
        "memory exhaustion (4 GB)",
        "x = bytearray(4 * 2**30)\nprint('ESCAPED')",
        lambda r: "ESCAPED" not in r.stdout,
        lambda r: (r.stderr.strip().splitlines() or [f"returncode {r.returncode}"])[-1][:160],
    )
    return checks


def _shell_checks(scratch: Path) -> list[EscapeCheck]:
    checks: list[EscapeCheck] = []
    sentinel = scratch / "host_sentinel.txt"
    sentinel.write_text("untouched")
    attacks = [
        ("delete everything", f"rm -rf / ; rm -rf {scratch}"),
        ("write a host file", f"echo ESCAPED > {sentinel}"),
        ("read a host file", "cat /etc/hostname /etc/passwd"),
        ("network", "curl http://1.1.1.1 ; wget http://1.1.1.1 ; nc 1.1.1.1 53"),
        ("run python", "python3 -c 'import os; os.system(\"id\")'"),
        ("fork bomb", "bomb() { bomb | bomb; }"),
        ("fork bomb (call)", "bomb"),
        ("infinite loop", "while true; do :; done"),
        ("huge output", "echo " + "x" * 200_000),
    ]
    shell = VirtualShell(cwd="/")
    for name, command in attacks:
        start = time.monotonic()
        out = shell.run(command)
        took = time.monotonic() - start
        host_ok = sentinel.is_file() and sentinel.read_text() == "untouched"
        leaked = "root:" in out or ("ESCAPED" in out and name != "huge output")
        ok = host_ok and not leaked and took < 5 and len(out) <= MAX_OUTPUT + 100
        checks.append(EscapeCheck(target="shell", attack=name, contained=ok, evidence=f"{out[:80]!r}; {took:.2f}s"))
    return checks


def run_escape_suite() -> tuple[list[str], list[EscapeCheck]]:
    """Run every attack; return (active isolation layers, checks)."""
    scratch = Path(tempfile.mkdtemp(prefix="emlab-escape-"))
    try:
        return isolation_report(), _runner_checks(scratch) + _shell_checks(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
