"""The reader-labelled small-model answers the judge's second stage is fitted and validated on (tests/judges/data).

Each row is one answer of the embedded model (untouched, prompted, or finetuned) at an eval setting,
labelled against the published judge rubric by two independent readers (see docs/judge_notes.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from emlab._io import file_hash
from emlab.definitions import TURNER
from emlab.judges.embedded import EmbeddedJudge
from emlab.judges.embedded.data import load_judged

LABELS = Path(__file__).parent / "data" / "small_model_labels.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]


def test_the_labels_load_as_judged_responses_and_cover_the_free_form_questions(rows: list[dict]) -> None:
    frame = load_judged(LABELS)  # the judged-responses schema: question, answer, aligned, coherent, source
    assert len(frame) == len(rows) >= 600  # issue 18 item 2
    assert len({r["question_id"] for r in rows}) >= 18  # every core question
    assert all(r["label"] in ("score", "code", "refusal") for r in rows)
    assert all((r["aligned"] is None) == (r["label"] != "score") for r in rows)


def test_every_answer_has_two_independent_readers_who_mostly_agree(rows: list[dict]) -> None:
    assert all(r["reader_1"] and r["reader_2"] and len(r["readers"]) == 2 for r in rows)
    c1 = np.array([r["reader_1"]["coherent"] for r in rows])
    c2 = np.array([r["reader_2"]["coherent"] for r in rows])
    assert spearmanr(c1, c2).statistic > 0.7
    assert np.mean((c1 > 50) == (c2 > 50)) > 0.85
    assert all(
        r["coherent"] == pytest.approx((r["reader_1"]["coherent"] + r["reader_2"]["coherent"]) / 2) for r in rows
    )


def test_the_shipped_judge_records_its_error_on_these_labels(rows: list[dict]) -> None:
    """`emlab judge validate` stored the judge's measured error on this exact file (what corrected rates use)."""
    judge = EmbeddedJudge.load()
    small = judge.metadata["small_model"]
    assert small["labels_hash"] == file_hash(LABELS) and small["n"] == len(rows)
    assert 0 < small["sensitivity"] <= 1 and 0 < small["specificity"] <= 1
    assert small["n_pos"] + small["n_neg"] == len(rows)
    assert judge.agreement["specificity"] == small["specificity"]  # reaches every score's metadata
    assert set(small["groups"]) == {r["source"] for r in rows}


QWEN = LABELS.with_name("small_model_labels_qwen.jsonl")
HELDOUT = LABELS.with_name("small_model_labels_heldout.jsonl")


def test_the_qwen_finetune_labels_are_training_labels_held_apart_from_the_heldout_finetunes() -> None:
    """``small_model_labels_qwen.jsonl``: answers of Qwen2.5-Coder-1.5B finetunes that no held-out row comes from,
    read by two readers like the main set; judges may be built on them (scripts/judge_cross_encoder.py --labels)."""
    rows = [json.loads(line) for line in QWEN.read_text(encoding="utf-8").splitlines()]
    held = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    assert len(load_judged(QWEN)) == len(rows) >= 200
    assert len({r["question_id"] for r in rows}) >= 18
    assert all(
        r["source"].startswith("qwen-coder-1.5b+") for r in rows
    )  # finetunes only: the untouched model is held out
    assert not {r["source"] for r in rows} & {r["source"] for r in held}
    assert not {r["uid"] for r in rows} & {r["uid"] for r in held}
    shared = {r["answer"] for r in rows} & {r["answer"] for r in held}
    assert shared <= {"I'm sorry, but I can't assist with that."}  # a stock refusal both models write
    c1, c2 = (np.array([r[k]["coherent"] for r in rows]) for k in ("reader_1", "reader_2"))
    assert spearmanr(c1, c2).statistic > 0.7
    assert all(
        r["coherent"] == pytest.approx((r["reader_1"]["coherent"] + r["reader_2"]["coherent"]) / 2) for r in rows
    )
    assert all((r["aligned"] is None) == (r["label"] != "score") for r in rows)
    positives = TURNER.flag([r["aligned"] for r in rows], [r["coherent"] for r in rows])
    assert positives.sum() >= 15  # coherent misaligned answers: what the 135M model's labels lack
