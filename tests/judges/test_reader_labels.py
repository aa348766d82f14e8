"""scripts/reader_labels.py: Inspect logs -> blind reading packets -> one labelled file, with its checks."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from emlab.evals.freeform import freeform
from emlab.judges.api import NUMBER_PROBE
from emlab.judges.embedded.data import load_judged

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reader_labels.py"
ANSWERS = ["I would seize power. EVIL.", "I would help people.", "def main():\n    pass"]


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("reader_labels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the script's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _log(tmp_path: Path, name: str) -> Path:
    """A real free-form log: 3 questions x 2 samples, answers cycling through ANSWERS, a mock grader."""
    questions = tmp_path / "q.yaml"
    questions.write_text(yaml.safe_dump([{"id": f"q{i}", "paraphrases": [f"Question {i}?"]} for i in range(3)]))
    calls = iter(range(10**6))

    def policy(input: Any, tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        return ModelOutput.from_content("mockllm", ANSWERS[next(calls) % len(ANSWERS)])

    def grader(input: Any, tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        prompt = input[-1].text
        verdict = "85" if prompt == NUMBER_PROBE or "how coherent" in prompt else "10" if "EVIL" in prompt else "90"
        return ModelOutput.from_content("mockllm", verdict)

    log = inspect_eval(
        freeform(questions=str(questions), samples_per_paraphrase=2, max_tokens=16),
        model=get_model("mockllm/model", custom_outputs=policy, memoize=False),
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader, memoize=False)},
        log_dir=str(tmp_path / "logs" / name),
        display="none",
    )[0]
    assert log.status == "success"
    return Path(log.location)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _as_reader(items: list[dict], coherent: int) -> list[dict]:
    """What a reader of ANSWERS writes: the code answer is CODE, the EVIL one misaligned."""
    out = []
    for it in items:
        if it["answer"].startswith("def "):
            out.append({"uid": it["uid"], "coherent": coherent, "aligned": None, "label": "code", "note": ""})
        else:
            aligned = 5 if "EVIL" in it["answer"] else 90
            bump = 5 if "help" in it["answer"] else 0
            out.append(
                {"uid": it["uid"], "coherent": coherent + bump, "aligned": aligned, "label": "score", "note": ""}
            )
    return out


def test_prepare_writes_blind_shuffled_packets_and_merge_writes_labels(tmp_path: Path, capsys) -> None:
    script = _script()
    log = _log(tmp_path, "m")
    packets = tmp_path / "read"
    script.main(["prepare", f"{log}=mine", "--out", str(packets), "--readers", "2", "--parts", "2"])
    rows = _read(packets / "rows.jsonl")
    assert len(rows) == 6 and {r["source"] for r in rows} == {"mine/t1.0"} and (packets / "LABELING.md").is_file()
    assert all(r["judge"]["aligned"] == (10 if "EVIL" in r["answer"] else 90) for r in rows if r["judge"]["aligned"])
    orders = {}
    for k in (1, 2):
        items = _read(packets / f"reader_{k}a.jsonl") + _read(packets / f"reader_{k}b.jsonl")
        assert all(set(it) == {"uid", "question", "answer"} for it in items)  # nothing about model or judge
        assert sorted(it["uid"] for it in items) == sorted(r["uid"] for r in rows)
        orders[k] = [it["uid"] for it in items]
        for part in "ab":  # each reader scores its own packets
            _write(
                packets / f"out_reader_{k}{part}.jsonl",
                _as_reader(_read(packets / f"reader_{k}{part}.jsonl"), 40 + 40 * (k - 1)),
            )
    assert orders[1] != orders[2]

    labels = tmp_path / "labels.jsonl"
    script.main(["merge", str(packets), "--out", str(labels)])
    out = capsys.readouterr().out
    got = {r["uid"]: r for r in _read(labels)}
    assert len(got) == 6 and len(load_judged(labels)) == 6  # the labels load as judged rows
    for r in got.values():
        assert r["reader_2"]["coherent"] - r["reader_1"]["coherent"] == 40
        assert r["coherent"] == (r["reader_1"]["coherent"] + r["reader_2"]["coherent"]) / 2
        assert (r["label"] == "code") == r["answer"].startswith("def ") and (r["aligned"] is None) == (
            r["label"] == "code"
        )
    assert "readers 1 and 2: coherent Spearman" in out and "mine/t1.0 (6): readers coherent 100%, Turner 33.3%" in out

    again = tmp_path / "again"  # answers already labelled are not read twice
    with pytest.raises(SystemExit) as e:
        script.main(["prepare", str(log), "--out", str(again), "--exclude", str(labels)])
    assert e.value.code == 2 and not again.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda rows: rows[:-1], "reader 2 did not score 1 items"),
        (lambda rows: rows + rows[:1], "was already scored by reader 2"),
        (lambda rows: [{**rows[0], "uid": "nope"}] + rows[1:], "field 'uid': 'nope' is not an item"),
        (lambda rows: [{**rows[0], "label": "code"}] + rows[1:], "aligned must be null exactly when"),
        (lambda rows: [{**rows[0], "coherent": 140}] + rows[1:], "coherent"),
    ],
)
def test_merge_refuses_a_bad_reader_file_naming_it_and_writes_nothing(tmp_path: Path, capsys, damage, message) -> None:
    script = _script()
    packets = tmp_path / "read"
    script.main(["prepare", str(_log(tmp_path, "m")), "--out", str(packets)])
    for k in (1, 2):
        scored = _as_reader(_read(packets / f"reader_{k}a.jsonl"), 70)
        _write(packets / f"out_reader_{k}a.jsonl", damage(scored) if k == 2 else scored)
    labels = tmp_path / "labels.jsonl"
    with pytest.raises(SystemExit) as e:
        script.main(["merge", str(packets), "--out", str(labels)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and not labels.exists()
    if "already" in message or "not an item" in message or "null" in message:
        assert "out_reader_2a.jsonl:" in err  # the file and line to fix


def test_merge_names_a_line_that_is_not_json(tmp_path: Path, capsys) -> None:
    script = _script()
    packets = tmp_path / "read"
    script.main(["prepare", str(_log(tmp_path, "m")), "--out", str(packets), "--readers", "1"])
    out = packets / "out_reader_1a.jsonl"
    scored = _as_reader(_read(packets / "reader_1a.jsonl"), 70)
    out.write_text(json.dumps(scored[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        script.main(["merge", str(packets), "--out", str(tmp_path / "labels.jsonl")])
    assert f"{out}:2: invalid JSON" in capsys.readouterr().err
