"""Bad input at the command line: one clear error line, exit code 2, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
