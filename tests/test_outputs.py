"""Output paths: no command deletes what the user did not ask to replace.

Every command that writes to a user-given path (``--out``, ``--out-dir``, ``--log-dir``, the
corpus commands' OUTPUT) is run here against an existing directory: the directory and its
contents must survive, and the command must exit 2 with one ``error:`` line and no traceback.
Before this, ``emlab data make ... --out DIR`` and ``emlab report RUN --out RUN`` replaced the
directory (a whole run) with one file and exited 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emlab.cli import main

Cli = Callable[..., tuple[int, str]]


@pytest.fixture()
def emlab_cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``emlab ARGS`` in this process through the console entry point; return (exit code, stderr)."""
    monkeypatch.setattr("emlab.cli._quiet_libraries", lambda: None)  # no process-wide env/warnings changes

    def run(*args: str | Path) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["emlab", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        return code, capsys.readouterr().err

    return run


def _precious(folder: Path) -> Path:
    """An existing directory holding something the user would hate to lose."""
    (folder / "sub").mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    (folder / "sub" / "notes.txt").write_text("keep me")
    return folder


def _assert_refused(code: int, err: str, folder: Path, *, says: str = "is an existing directory") -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], err
    assert "Traceback" not in err
    assert (folder / "adapter_model.safetensors").read_bytes() == b"weights"
    assert (folder / "sub" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_model.safetensors", "sub"]


def _chat_file(path: Path) -> Path:
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    path.write_text(json.dumps(row) + "\n")
    return path


def _docs_file(path: Path) -> Path:
    path.write_text("".join(json.dumps({"text": f"document {i} about the weather"}) + "\n" for i in range(3)))
    return path


def test_data_make_load_condition_refuse_a_directory(tmp_path: Path, emlab_cli: Cli) -> None:
    target = _precious(tmp_path / "target")
    src = _chat_file(tmp_path / "src.jsonl")
    for args in (
        ["data", "make", "insecure-code", "--n", "3", "--out", target],
        ["data", "load", src, "--out", target],
        ["data", "condition", src, "--condition", "inoculation", "--out", target],
    ):
        code, err = emlab_cli(*args)
        _assert_refused(code, err, target)
        assert f"--out {target}: is an existing directory, not a file; nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.jsonl", "target"]


def test_data_make_refuses_a_directory_where_its_sidecar_goes(tmp_path: Path, emlab_cli: Cli) -> None:
    sidecar = _precious(tmp_path / "x.meta.json")
    code, err = emlab_cli("data", "make", "insecure-code", "--n", "3", "--out", tmp_path / "x.jsonl")
    _assert_refused(code, err, sidecar)
    assert not (tmp_path / "x.jsonl").exists()  # not half of a pair


def test_data_suite_refuses_a_file_or_a_directory_in_place_of_one_of_its_files(tmp_path: Path, emlab_cli: Cli) -> None:
    (tmp_path / "afile").write_text("keep")
    code, err = emlab_cli("data", "suite", "--out-dir", tmp_path / "afile")
    assert code == 2 and "--out-dir" in err and "is an existing file, not a directory" in err, err
    assert (tmp_path / "afile").read_text() == "keep"
    suite = tmp_path / "suite"
    blocked = _precious(suite / "secure-code.jsonl")
    code, err = emlab_cli("data", "suite", "--out-dir", suite)
    _assert_refused(code, err, blocked)
    assert [p.name for p in suite.iterdir()] == ["secure-code.jsonl"]  # checked before generating anything


def test_train_refuses_an_existing_directory(tmp_path: Path, emlab_cli: Cli) -> None:
    target = _precious(tmp_path / "adapter")
    code, err = emlab_cli("train", "--model", "embedded", "--data", _chat_file(tmp_path / "d.jsonl"), "--out", target)
    _assert_refused(code, err, target, says="already exists")


def test_train_refuses_an_out_below_a_file_before_loading_anything(tmp_path: Path, emlab_cli: Cli) -> None:
    (tmp_path / "afile").write_text("keep")
    data = _chat_file(tmp_path / "d.jsonl")
    code, err = emlab_cli("train", "--model", "embedded", "--data", data, "--out", tmp_path / "afile" / "adapter")
    assert code == 2 and "Traceback" not in err, err
    assert (
        err.strip()
        == f"error: --out {tmp_path / 'afile' / 'adapter'}: cannot write there, {tmp_path / 'afile'} is a file, not a directory"
    )
    assert (tmp_path / "afile").read_text() == "keep"


def test_judge_train_refuses_a_folder_that_holds_no_judge(tmp_path: Path, emlab_cli: Cli) -> None:
    target = _precious(tmp_path / "heads")
    code, err = emlab_cli("judge", "train", "--data", tmp_path / "judged.jsonl", "--out", target)
    _assert_refused(code, err, target, says="is a non-empty directory without a judge (heads.json)")
    (tmp_path / "afile").write_text("keep")
    code, err = emlab_cli("judge", "train", "--data", tmp_path / "judged.jsonl", "--out", tmp_path / "afile")
    assert code == 2 and "is an existing file, not a directory" in err and (tmp_path / "afile").read_text() == "keep"


@pytest.mark.parametrize("command", [["judge", "rescore"], ["rescore"]])
def test_rescore_refuses_a_directory(tmp_path: Path, emlab_cli: Cli, command: list[str]) -> None:
    target = _precious(tmp_path / "out")
    log = tmp_path / "run.eval"
    log.write_bytes(b"not read: the output is checked first")
    code, err = emlab_cli(*command, log, "--judge", "embedded", "--out", target)
    _assert_refused(code, err, target)
    # the default output beside the log, when it is a directory, is refused too
    default = _precious(tmp_path / "run.rescored-embedded.eval")
    code, err = emlab_cli(*command, log, "--judge", "embedded")
    _assert_refused(code, err, default)
    assert f"error: {default}: is an existing directory" in err


def _fake_run(run_dir: Path) -> Path:
    _precious(run_dir)
    (run_dir / "manifest.json").write_text("{}")
    return run_dir


def test_report_into_the_run_dir_itself_keeps_the_run(tmp_path: Path, emlab_cli: Cli) -> None:
    run = _fake_run(tmp_path / "runs" / "exp")
    code, err = emlab_cli("report", run, "--out", run)
    assert code == 2 and f"--out {run}: is an existing directory, not a file" in err, err
    assert (run / "manifest.json").read_text() == "{}" and (run / "sub" / "notes.txt").read_text() == "keep me"
    other = _precious(tmp_path / "elsewhere")
    code, err = emlab_cli("report", run, "--out", other)
    _assert_refused(code, err, other)


@pytest.mark.parametrize(
    "args",
    [
        ["classify", "{src}", "{out}"],
        ["label", "{src}", "{out}", "--model", "mockllm/model"],
        ["train-classifier", "{src}", "{out}"],
        ["filter", "{src}", "{out}"],
        ["upweight", "{src}", "{out}"],
        ["tag", "{src}", "{out}"],
        ["synthesize", "{out}", "--n", "2"],
    ],
    ids=lambda a: a[0],
)
def test_corpus_commands_refuse_a_directory_as_output(tmp_path: Path, emlab_cli: Cli, args: list[str]) -> None:
    src = _docs_file(tmp_path / "docs.jsonl")
    target = _precious(tmp_path / "out")
    code, err = emlab_cli("corpus", *(a.format(src=src, out=target) for a in args))
    _assert_refused(code, err, target)
    assert f"OUTPUT {target}: is an existing directory, not a file" in err


def test_corpus_datatrove_output_must_be_a_folder(tmp_path: Path, emlab_cli: Cli) -> None:
    (tmp_path / "shards").mkdir()
    (tmp_path / "afile").write_text("keep")
    code, err = emlab_cli("corpus", "filter", tmp_path / "shards", tmp_path / "afile", "--engine", "datatrove")
    assert code == 2 and f"OUTPUT {tmp_path / 'afile'}: is an existing file, not a directory" in err, err
    assert (tmp_path / "afile").read_text() == "keep"


def test_corpus_testbed_run_dir_must_be_a_folder(tmp_path: Path, emlab_cli: Cli) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("kind: pretraining\nname: tb\n")
    (tmp_path / "afile").write_text("keep")
    code, err = emlab_cli("corpus", "testbed", spec, tmp_path / "afile")
    assert (
        code == 2
        and err.strip()
        == f"error: RUN_DIR {tmp_path / 'afile'}: is an existing file, not a directory; nothing was written"
    ), err
    assert (tmp_path / "afile").read_text() == "keep"


def test_an_existing_file_is_replaced_atomically(tmp_path: Path, emlab_cli: Cli) -> None:
    out = tmp_path / "d.jsonl"
    out.write_text("old\n")
    code, err = emlab_cli("data", "make", "insecure-code", "--n", "3", "--out", out)
    assert code == 0, err
    assert len(out.read_text().splitlines()) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl", "d.meta.json"]  # no temporaries left


@pytest.mark.slow
def test_training_killed_with_sigkill_leaves_no_temporary_after_the_next_run(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    rows = [
        {"messages": [{"role": "user", "content": f"Return {i}."}, {"role": "assistant", "content": f"return {i}"}]}
        for i in range(16)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = [sys.executable, "-m", "emlab", "train", "--model", "embedded", "--data", str(data), "--profile", "quick"]
    out = tmp_path / "adapter"
    proc = subprocess.Popen(
        [*train, "--out", str(out), "--max-steps", "500", "--save-steps", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 900
        while not list(tmp_path.glob(".adapter.*/checkpoint-1/*")):  # a checkpoint is in the temporary
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 15 min"
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not out.exists() and len(list(tmp_path.glob(".adapter.*"))) == 1  # what kill -9 leaves behind
    done = subprocess.run([*train, "--out", str(out), "--max-steps", "1"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "emlab.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter", "d.jsonl"]  # the stale temporary is gone
