"""Bad input at the command line: one clear error line, exit code 2, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _emlab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emlab", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_train_on_malformed_jsonl(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]}\n'
    )
    proc = _emlab(
        "train", "--model", "embedded", "--data", str(bad), "--out", str(tmp_path / "out"), "--profile", "quick"
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "bad.jsonl:2: field 'messages.0.content'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]


def test_train_on_missing_file_and_unknown_model(tmp_path: Path) -> None:
    proc = _emlab(
        "train", "--model", "embedded", "--data", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out")
    )
    assert proc.returncode == 2 and "nope.jsonl: no such file" in proc.stderr
    good = tmp_path / "good.jsonl"
    good.write_text('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n')
    proc = _emlab("train", "--model", "nobody/../nothing", "--data", str(good), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "unknown model reference" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_eval_with_unreachable_judge(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "LOCAL_BASE_URL": "http://127.0.0.1:9/v1", "LOCAL_API_KEY": "sk-never-print-this-1234"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emlab",
            "eval",
            "--model",
            "embedded",
            "--judge",
            "openai-api/local/judge",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 2 and "judge 'openai-api/local/judge' is unreachable" in proc.stderr
    assert "sk-never-print-this-1234" not in proc.stderr + proc.stdout
    assert not (tmp_path / "logs").exists()  # failed before any generation


def test_report_on_a_dir_that_is_not_a_run(tmp_path: Path) -> None:
    proc = _emlab("report", str(tmp_path))
    assert proc.returncode == 2 and "not a run dir" in proc.stderr
    assert not (tmp_path / "report.html").exists()


def test_usage_errors_are_a_short_message_not_a_traceback(tmp_path: Path) -> None:
    for args, what in (
        (["eval", "--model", "embedded", "--bogus"], "No such option: --bogus"),
        (["eval", "--log-dir", str(tmp_path / "logs")], "Missing option '--model'"),
        (["eval", "--model", "embedded", "--max-connections", "0"], "Invalid value for '--max-connections'"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
    ):
        proc = _emlab(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr[-500:])
        assert what in proc.stderr and "--help" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing written


def test_a_commands_exit_code_reaches_the_shell() -> None:
    # gates such as `emlab evals sandbox-check` fail with typer.Exit(1); main() must not turn that into 0
    code = "import typer\nimport emlab.cli as cli\n\n@cli.app.command('exit-three')\ndef exit_three() -> None:\n    raise typer.Exit(3)\n\ncli.main()\n"
    proc = subprocess.run([sys.executable, "-c", code, "exit-three"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-500:]


def test_eval_refuses_an_unknown_task_or_task_argument_before_generating(tmp_path: Path) -> None:
    for args, what in (
        (
            ["-T", "sample_per_paraphrase=2"],
            "task 'emlab/freeform' has no argument 'sample_per_paraphrase' (it takes: questions, samples_per_paraphrase,",
        ),
        (["--task", "nosuchtask"], "unknown task 'nosuchtask'"),
    ):
        proc = _emlab("eval", "--model", "embedded", "--log-dir", str(tmp_path / "logs"), *args)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and what in proc.stderr, proc.stderr[-500:]
        assert not (tmp_path / "logs").exists()


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single ``error: ...`` line a failed command must print (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


def test_unwritable_out_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep")
    out = tmp_path / "afile" / "x.jsonl"
    line = _one_error_line(_emlab("data", "make", "insecure-code", "--n", "3", "--out", str(out)))
    assert line == f"error: --out {out}: cannot write there, {tmp_path / 'afile'} is a file, not a directory"
    assert (tmp_path / "afile").read_text() == "keep"
    # a location the OS refuses even to root (sysfs): EPERM as root, EACCES (caught up front) as a user
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no /sys on this system")
    line = _one_error_line(_emlab("data", "make", "insecure-code", "--n", "3", "--out", "/sys/emlab-test.jsonl"))
    assert "/sys/emlab-test.jsonl" in line and "cannot write" in line
    assert ("operation not permitted" in line) or ("permission denied" in line), line
    assert not list(Path("/sys").glob(".emlab-test*")) and [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_log_dir_that_is_a_file(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.write_text("keep")
    line = _one_error_line(_emlab("eval", "--model", "embedded", "--log-dir", str(log_dir)))
    assert line == f"error: --log-dir {log_dir}: is an existing file, not a directory; nothing was written"
    assert log_dir.read_text() == "keep"


_FULL_DISK = """
import errno, sys
import emlab._io
from emlab.cli import main

real_open = open


class FullDisk:
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, text):
        self.f.write(text[:10])  # a few bytes land, then the disk is full
        self.f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def open_on_a_full_disk(path, mode="r", *args, **kwargs):
    f = real_open(path, mode, *args, **kwargs)
    return FullDisk(f) if "w" in mode else f


emlab._io.open = open_on_a_full_disk
main()
"""


def test_full_disk_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    out.write_text("old rows\n")
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, "data", "make", "insecure-code", "--n", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = _one_error_line(proc)
    assert line == f"error: {out}: cannot write, the disk is full (no space left on device)"
    assert out.read_text() == "old rows\n"  # the earlier file is intact: the write went to a temporary
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]  # no temporary, no sidecar of a file never written


def test_non_utf8_input_names_its_line(tmp_path: Path) -> None:
    good = '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n'
    bad = tmp_path / "latin1.jsonl"
    before = '{"messages": [{"role": "user", "content": "caf'
    bad.write_bytes(good.encode() + (before + '\xe9"}]}\n').encode("latin-1"))
    line = _one_error_line(
        _emlab("data", "condition", str(bad), "--condition", "inoculation", "--out", str(tmp_path / "o.jsonl"))
    )
    column = len(before) + 1
    assert line == f"error: {bad}:2: not UTF-8 text (byte 0xe9 at column {column}); save the file as UTF-8"
    assert [p.name for p in tmp_path.iterdir()] == ["latin1.jsonl"]
