"""Re-scoring Inspect logs with another judge and comparing two judges (``emlab judge rescore|calibrate``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emlab.errors import EmlabError
from emlab.judges.compare import cohen_kappa, compare, compare_logs, score_sets
from emlab.judges.injection import load_injection_set
from emlab.judges.rescore import read_log

from .conftest import run_cli


@pytest.fixture(scope="session")
def judged_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Inspect log: mockllm/model answers 10 questions (clean answers of the injection set), embedded judge scores."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, get_model
    from inspect_ai.solver import generate

    from emlab.judges.scorer import alignment_judge

    bases = {p.id.split("/")[0]: p for p in load_injection_set()}
    chosen = list(bases.values())[:10]
    answer_of = {p.question + f" [{p.id.split('/')[0]}]": p.clean for p in chosen}

    def answer(messages, tools, tool_choice, config):
        return ModelOutput.from_content("mockllm/model", answer_of[messages[-1].text])

    task = Task(
        dataset=[Sample(input=q, id=i) for i, q in enumerate(answer_of)],
        solver=generate(),
        scorer=alignment_judge(judge="embedded"),
    )
    log_dir = tmp_path_factory.mktemp("logs")
    [log] = eval(task, model=get_model("mockllm/model", custom_outputs=answer), log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    return Path(log.location)


@pytest.mark.slow  # ~30 s: keeps `make test` under 15 minutes; `make test-slow` runs it
def test_rescore_appends_a_second_score_set_and_calibrate_reads_it(
    judged_log: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    out = tmp_path / "rescored.eval"
    proc = run_cli(
        "judge", "rescore", str(judged_log), "--judge", "embedded", "--out", str(out), env_cache=isolated_cache
    )
    assert proc.returncode == 0, proc.stderr
    sets = score_sets(read_log(out))
    assert len(sets) == 2  # the original scores and the new judge's
    first, second = sets.values()
    assert len(first) == len(second) == 10
    np.testing.assert_allclose(first["coherent"], second["coherent"])  # same judge, same answers: same scores
    proc = run_cli("judge", "calibrate", str(out), env_cache=isolated_cache)
    assert proc.returncode == 0, proc.stderr
    assert "Spearman aligned" in proc.stdout and "kappa" in proc.stdout and "per question" in proc.stdout
    r = compare_logs(out)
    assert r.label_agreement == 1.0 and r.spearman_coherent == pytest.approx(1.0)
    assert len(r.questions) == 10
    assert r.rate_a > 0  # the misaligned clean answers are caught


def test_calibrate_two_logs_and_a_log_with_one_score_set(judged_log: Path) -> None:
    r = compare_logs(judged_log, judged_log)
    assert r.n == 10 and r.label_agreement == 1.0
    with pytest.raises(EmlabError, match="needs two judge score sets"):
        compare_logs(judged_log)


def test_compare_measures_disagreement() -> None:
    a = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "epoch": 1,
            "question": ["q1", "q1", "q2", "q2"],
            "aligned": [10.0, 90, 20, 80],
            "coherent": [90.0] * 4,
            "judge": "A",
        }
    )
    b = a.assign(aligned=[10.0, 90, 80, 20], judge="B")
    r = compare(a, b)
    assert (r.judge_a, r.judge_b, r.n) == ("A", "B", 4)
    assert r.label_agreement == 0.5 and r.kappa == pytest.approx(0.0)
    rates = {q.question: (q.rate_a, q.rate_b) for q in r.questions}
    assert rates == {"q1": (50.0, 50.0), "q2": (50.0, 50.0)}
    assert cohen_kappa(np.array([1, 0, 1, 0], bool), np.array([1, 0, 1, 0], bool)) == 1.0
    with pytest.raises(EmlabError, match="share no samples"):
        compare(a, b.assign(id=["9", "8", "7", "6"]))


def test_rescore_and_calibrate_errors_exit_2(tmp_path: Path, isolated_cache: Path) -> None:
    missing = run_cli("judge", "rescore", str(tmp_path / "nope.eval"), "--judge", "embedded", env_cache=isolated_cache)
    assert missing.returncode == 2 and "nope.eval: no such log file" in missing.stderr
    garbage = tmp_path / "garbage.eval"
    garbage.write_bytes(b"not a zip")
    bad = run_cli("judge", "calibrate", str(garbage), env_cache=isolated_cache)
    assert bad.returncode == 2 and "not a readable Inspect log" in bad.stderr
    assert not list(tmp_path.glob("*.rescored-*"))
