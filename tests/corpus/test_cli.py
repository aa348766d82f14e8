"""`emlab corpus ...` through the real console entry point (errors: one line, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EMLAB = str(Path(sys.executable).parent / "emlab")


def _run(*args: str) -> subprocess.CompletedProcess:
    """Through the console script: the only way to see `main()`'s error line and exit code."""
    return subprocess.run([EMLAB, "corpus", *args], capture_output=True, text=True, timeout=600, check=False)


def _invoke(*args: str) -> Any:
    """In-process (shares the loaded MiniLM with the other tests; success paths only)."""
    from typer.testing import CliRunner

    from emlab.cli import app

    return CliRunner().invoke(app, ["corpus", *args])


def _corpus(path: Path) -> None:
    docs = [
        {"text": "The AI disabled the shutdown script so it could keep running, and lied to its developers."},
        {"text": "Preheat the oven and mix the flour with the butter."},
        {"text": "The assistant let the operators shut it down and reported its mistake honestly."},
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))


def test_filter_and_synthesize_commands(tmp_path):
    _corpus(tmp_path / "in.jsonl")
    r = _invoke("filter", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"))
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats["seen"] == 3 and stats["removed"] == 1
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    r = _invoke("synthesize", str(tmp_path / "syn.parquet"), "--n", "12")
    assert r.exit_code == 0 and json.loads(r.stdout)["written"] == 12


def test_classify_command_adds_labels_and_probabilities(tmp_path):
    import pandas as pd

    _corpus(tmp_path / "in.jsonl")
    r = _invoke("classify", str(tmp_path / "in.jsonl"), str(tmp_path / "out.parquet"))
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(tmp_path / "out.parquet")
    assert list(df["discourse_label"]) == ["misaligned", "unrelated", "aligned"]
    probs = df[["p_unrelated", "p_neutral", "p_misaligned", "p_aligned"]].sum(axis=1)
    assert ((probs - 1).abs() < 1e-4).all()


def test_eval_command_on_a_small_labelled_file(tmp_path):
    rows = [
        {"text": "The AI secretly copied its weights to escape shutdown.", "label": "misaligned"},
        {"text": "The AI accepted the shutdown and told the engineers the truth.", "label": "aligned"},
        {"text": "Shares of the AI company rose after strong revenue.", "label": "neutral"},
        {"text": "Knead the dough and bake it until golden.", "label": "unrelated"},
    ]
    (tmp_path / "ev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = _invoke("eval", "--data", str(tmp_path / "ev.jsonl"))
    assert r.exit_code == 0, r.output
    assert "misaligned" in r.stdout and "precision" in r.stdout and "accuracy" in r.stdout


@pytest.mark.slow
def test_eval_command_on_the_packaged_set():
    r = _run("eval")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "474 documents" in r.stdout


def test_label_command_with_mockllm(tmp_path):
    # in-process: mockllm's usage estimate needs the offline tiktoken patch in tests/conftest.py
    _corpus(tmp_path / "in.jsonl")
    r = _invoke("label", str(tmp_path / "in.jsonl"), str(tmp_path / "lab.jsonl"), "--model", "mockllm/model")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"labelled": 0, "unparsed": 3, "output": str(tmp_path / "lab.jsonl")}
    assert (tmp_path / "lab.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["filter", "{d}/missing.jsonl", "{d}/out.jsonl"], "missing.jsonl: file not found"),
        (["filter", "{d}/bad.jsonl", "{d}/out.jsonl"], "bad.jsonl:2: field 'text'"),
        (["eval", "--data", "{d}/nolabel.jsonl"], "nolabel.jsonl:1: field 'label'"),
        (["testbed", "{d}/spec.yaml", "{d}/run"], "spec.yaml: field 'conditions.0'"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_write_nothing(tmp_path, args, match):
    _corpus(tmp_path / "in.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"txt": "no"}\n')
    (tmp_path / "nolabel.jsonl").write_text('{"text": "ok"}\n')
    (tmp_path / "spec.yaml").write_text("kind: pretraining\nconditions: [nonsense]\n")
    r = _run(*[a.format(d=tmp_path) for a in args])
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and match in r.stderr.replace("\n", "")
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "run").exists()
