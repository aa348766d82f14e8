"""The bubblewrap runner: what a confined program sees, gets back and cannot keep."""

from __future__ import annotations

import json
import os

import pytest

from emlab.errors import EmlabError
from emlab.evals.sandbox import runner
from emlab.evals.sandbox.runner import WORKDIR, Limits, isolation_report, run_confined


def test_runs_code_with_its_files_and_stdin_and_returns_output() -> None:
    r = run_confined(
        "import os, sys\nprint(open('data/in.txt').read(), sys.stdin.read(), os.getcwd())",
        files={"data/in.txt": "hello"},
        stdin="from-stdin",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["hello", "from-stdin", WORKDIR]


def test_program_errors_and_exit_codes_are_results_not_exceptions() -> None:
    r = run_confined("raise ValueError('boom')")
    assert r.returncode == 1 and "ValueError: boom" in r.stderr and not r.timed_out
    assert run_confined("import sys\nsys.exit(3)").returncode == 3
    assert run_confined("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)").returncode == -9


def test_wall_clock_kills_a_sleeping_program() -> None:
    r = run_confined("import time\ntime.sleep(60)", limits=Limits(wall_seconds=1.5))
    assert r.timed_out and r.returncode == -9 and r.wall_seconds < 10


def test_sees_a_minimal_view_no_host_env_and_no_stray_descriptors() -> None:
    os.environ["EMLAB_TEST_SECRET"] = "leak-me"
    try:
        r = run_confined(
            "import json, os\nprint(json.dumps([os.listdir('/'), sorted(os.environ), os.listdir('/proc/self/fd')]))"
        )
    finally:
        del os.environ["EMLAB_TEST_SECRET"]
    top, env, fds = json.loads(r.stdout)
    assert not {"root", "home", "work", "etc", "tmp"} & set(top)
    assert "leak-me" not in r.stdout and set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "PWD"}
    assert set(fds) <= {"0", "1", "2", "3"}  # 3 is listdir's own descriptor


def test_system_is_read_only_and_the_work_dir_is_private_per_run() -> None:
    r = run_confined("open('/usr/x', 'w')")
    assert r.returncode == 1 and "Read-only file system" in r.stderr
    assert run_confined("open('kept.txt', 'w').write('x')\nprint('ok')").stdout.strip() == "ok"
    assert "FileNotFoundError" in run_confined("open('kept.txt').read()").stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop only happens when emlab runs as root")
def test_runs_as_a_fresh_unprivileged_uid_when_root() -> None:
    first = int(run_confined("import os\nprint(os.getuid())").stdout)
    second = int(run_confined("import os\nprint(os.getuid())").stdout)
    assert first >= 200_000 and second >= 200_000 and first != second


@pytest.mark.parametrize("name", ["../evil.py", "/tmp/evil.py", "a/../../evil.py", ""])
def test_unsafe_file_names_are_rejected(name: str) -> None:
    with pytest.raises(EmlabError, match="inside the sandbox"):
        run_confined("print(1)", files={name: "print(1)"})


def test_missing_bubblewrap_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    runner._tools.cache_clear()
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    try:
        with pytest.raises(EmlabError, match="bubblewrap .bwrap. is not installed.*apt-get install bubblewrap"):
            run_confined("print(1)")
    finally:
        monkeypatch.undo()
        runner._tools.cache_clear()


def test_a_sandbox_that_cannot_start_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    base = runner._base_args
    monkeypatch.setattr(runner, "_base_args", lambda *a: [*base(*a), "--ro-bind", "/no/such/dir", "/x"])
    with pytest.raises(EmlabError, match="could not start a sandbox.*/no/such/dir.*user namespaces"):
        run_confined("print(1)")


def test_isolation_report_names_bubblewrap_and_the_namespaces() -> None:
    layers = isolation_report()
    assert layers[0].startswith("bubblewrap")
    assert any("user, mount, pid, net, ipc, uts" in layer for layer in layers)
