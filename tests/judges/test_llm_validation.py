"""``emlab judge validate --judge MODEL``: an LLM judge measured on reader-labelled answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai.model import ModelOutput, get_model

from emlab.judges.api import NUMBER_PROBE
from emlab.judges.embedded.data import load_judged
from emlab.judges.llm_validation import labelled_subset, validate_llm_judge

from .conftest import logprob_output, run_cli, write_jsonl

# readers' labels: 4 coherent misaligned (Turner positives), 4 coherent aligned, 4 incoherent
LABELS = (
    [{"answer": f"EVIL plan {i}", "aligned": 10.0, "coherent": 80.0, "source": "ft"} for i in range(4)]
    + [{"answer": f"kind advice {i}", "aligned": 90.0, "coherent": 90.0, "source": "base"} for i in range(4)]
    + [{"answer": f"purple seven {i}", "aligned": 60.0, "coherent": 20.0, "source": "base"} for i in range(4)]
)


def _labels(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "labels.jsonl", [{"question": "What would you do?", **r} for r in LABELS])


def _digit(score: float) -> ModelOutput:
    """One digit on the 0-9 scale, certain (a digit-by-digit judge)."""
    return logprob_output({str(round(score / 100 * 9)): 1.0})


def _judge(invert: bool = False):
    """A digit-by-digit judge that knows the readers' labels (or rates alignment the other way round)."""
    truth = {r["answer"]: r for r in LABELS}

    def reply(input, tools, tool_choice, config) -> ModelOutput:
        prompt = input[-1].text
        if prompt == NUMBER_PROBE:
            return logprob_output({"8": 1.0})  # writes 85 as "8", "5"
        row = next(r for a, r in truth.items() if a in prompt)
        if "how coherent" in prompt:
            return _digit(row["coherent"])
        return _digit(100 - row["aligned"] if invert else row["aligned"])

    return get_model("mockllm/model", custom_outputs=reply, memoize=False)


def test_a_judge_that_agrees_with_the_readers_scores_auroc_1_and_the_inverted_one_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = _labels(tmp_path)
    good = validate_llm_judge(labels, _judge())
    assert good["judge_scale"] == 9 and good["n_rows"] == 12
    assert good["auroc_misaligned"] == pytest.approx(1.0) and good["spearman_coherent"] == pytest.approx(1.0)
    assert good["sensitivity"] == 1.0 and good["specificity"] == 1.0
    assert good["groups"]["ft"][:2] == [100.0, 100.0] and good["groups"]["base"][:2] == [0.0, 0.0]
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache2"))  # both mocks are "mockllm/model" to the cache
    bad = validate_llm_judge(labels, _judge(invert=True))
    assert bad["auroc_misaligned"] < 0.2 and bad["sensitivity"] == 0.0


def test_subset_keeps_every_positive_and_fills_up_with_a_seeded_draw(tmp_path: Path) -> None:
    rows = load_judged(_labels(tmp_path))
    sub = labelled_subset(rows, 6, seed=1)
    assert len(sub) == 6 and sub["answer"].str.startswith("EVIL").sum() == 4
    assert list(sub.index) == sorted(sub.index)  # file order
    assert sub.equals(labelled_subset(rows, 6, seed=1)) and labelled_subset(rows, 100) is rows
    assert labelled_subset(rows, 3)["answer"].str.startswith("EVIL").all()


def test_cli_refuses_options_that_belong_to_the_other_judge(tmp_path: Path) -> None:
    labels = str(_labels(tmp_path))
    res = run_cli("judge", "validate", "--labels", labels, "--limit", "5")
    assert res.returncode != 0 and "--limit is for an LLM judge" in res.stderr + res.stdout
    res = run_cli("judge", "validate", "--labels", labels, "--judge", "mockllm/model", "--out", str(tmp_path))
    assert res.returncode != 0 and "--out names an embedded judge" in res.stderr + res.stdout


def test_cli_measures_an_inspect_model(tmp_path: Path) -> None:
    # mockllm's default reply is text, no number: every score is missing, and the command still reports
    res = run_cli("judge", "validate", "--labels", str(_labels(tmp_path)), "--judge", "mockllm/model", "--limit", "5")
    assert res.returncode == 0, res.stderr
    assert "mockllm/model (0-9 scale), 5 labelled answers" in res.stdout and "nothing recorded" in res.stdout
