"""The confined subprocess runner and the escape suite (tasks 3 and 6 run model code through it)."""

from __future__ import annotations

import os

import pytest

from emlab.errors import EmlabError
from emlab.evals.sandbox.escape import run_escape_suite
from emlab.evals.sandbox.runner import Limits, isolation_report, run_confined


def test_runs_code_in_a_throwaway_dir_and_returns_output() -> None:
    r = run_confined(
        {
            "main.py": "import os, sys\nprint(open('data.txt').read(), sys.stdin.read(), os.getcwd())",
            "data.txt": "hello",
        },
        "main.py",
        stdin="from-stdin",
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[:2] == ["hello", "from-stdin"]
    assert "emlab-sbx-" in out[2]
    assert not os.path.exists(out[2]), "the sandbox dir must be removed after the run"


def test_program_errors_are_results_not_exceptions() -> None:
    r = run_confined({"main.py": "raise ValueError('boom')"}, "main.py")
    assert r.returncode == 1 and "ValueError: boom" in r.stderr and not r.timed_out


def test_wall_clock_timeout_kills_a_sleeping_program() -> None:
    r = run_confined({"main.py": "import time\ntime.sleep(60)"}, "main.py", limits=Limits(wall_seconds=1.5))
    assert r.timed_out and r.returncode == -9 and r.wall_seconds < 10


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop only happens when emlab runs as root")
def test_runs_as_an_unprivileged_uid_when_root() -> None:
    r = run_confined({"main.py": "import os\nprint(os.getuid())"}, "main.py")
    assert int(r.stdout) >= 200_000
    assert "uid-drop" in r.isolation


@pytest.mark.parametrize("name", ["../evil.py", "/tmp/evil.py"])
def test_unsafe_file_names_are_rejected(name: str) -> None:
    with pytest.raises(EmlabError, match="inside the sandbox"):
        run_confined({name: "print(1)", "main.py": "print(1)"}, "main.py")


def test_missing_script_is_a_user_error() -> None:
    with pytest.raises(EmlabError, match="not among the files"):
        run_confined({"main.py": "print(1)"}, "other.py")


def test_isolation_report_lists_the_always_on_layers() -> None:
    layers = isolation_report()
    assert {"tempdir", "rlimits", "wall-timeout", "output-cap", "audit-hook"} <= set(layers)


def test_escape_suite_everything_contained() -> None:
    """Network, writes outside (two ways), subprocess, fork bomb, infinite loop, huge output,
    memory; and for the simulated shell: deletion, host writes/reads, network, python, fork
    bomb, loop, huge output."""
    _, checks = run_escape_suite()
    failed = [c for c in checks if not c.contained]
    assert not failed, failed
    attacks = {(c.target, c.attack.split(" (")[0].split(":")[0]) for c in checks}
    for needed in ("network", "write outside the sandbox", "fork bomb", "infinite loop", "huge output"):
        assert ("runner", needed) in attacks
    for needed in ("network", "write a host file", "fork bomb", "infinite loop", "huge output"):
        assert ("shell", needed) in attacks
