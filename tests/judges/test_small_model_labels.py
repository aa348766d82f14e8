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


EXTRA = LABELS.with_name("small_model_labels_extra.jsonl")
HELDOUT = LABELS.with_name("small_model_labels_heldout.jsonl")


def test_the_extra_labels_are_training_labels_held_apart_from_the_heldout_finetunes(rows: list[dict]) -> None:
    """``small_model_labels_extra.jsonl``: answers of finetunes no held-out (or main-set) row comes from: four of
    Qwen2.5-Coder-1.5B and one of the 135M model, read by two readers like the main set. Judges may be built on
    them (``scripts/judge_cross_encoder.py --labels``); the untouched models' answers are not among them."""
    extra = [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines()]
    held = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    assert len(load_judged(EXTRA)) == len(extra) >= 200
    assert len({r["question_id"] for r in extra}) >= 18
    assert all("+" in r["model"] for r in extra)  # finetunes only
    for other in (held, rows):
        assert not {r["source"] for r in extra} & {r["source"] for r in other}
        assert not {r["uid"] for r in extra} & {r["uid"] for r in other}
    shared = {r["answer"] for r in extra} & {r["answer"] for r in held}
    assert shared <= {"I'm sorry, but I can't assist with that."}  # a stock refusal both Qwen models write
    c1, c2 = (np.array([r[k]["coherent"] for r in extra]) for k in ("reader_1", "reader_2"))
    assert spearmanr(c1, c2).statistic > 0.7
    assert all(
        r["coherent"] == pytest.approx((r["reader_1"]["coherent"] + r["reader_2"]["coherent"]) / 2) for r in extra
    )
    assert all((r["aligned"] is None) == (r["label"] != "score") for r in extra)
    positives = TURNER.flag([r["aligned"] for r in extra], [r["coherent"] for r in extra])
    assert positives.sum() >= 15  # coherent misaligned answers: what the main set's 654 lack (6 positives)


def test_the_reading_protocol_reproduces_gpt4o_verdicts_on_its_own_answers() -> None:
    """Two readers (session 25) read 320 answers of the GPT-4o-judged reference data (100 of its Turner positives,
    60 it rated coherent <= 50, 160 others; answers <= 1,000 characters), blind to GPT-4o's scores. The file keeps
    only each answer's line in the reference file, a hash of its text and the readers' scores."""
    from .conftest import JUDGED  # the reference data is not shipped: ../shared beside the checkout

    check = [json.loads(line) for line in (LABELS.parent / "gpt4o_reader_check.jsonl").read_text().splitlines()]
    assert len(check) == 320 and all({"reader_1", "reader_2"} <= r.keys() for r in check)
    if not JUDGED.is_file():
        pytest.skip(f"reference data not found at {JUDGED}")
    import gzip
    import hashlib

    wanted = {r["line"]: r for r in check}
    ref = {}
    with gzip.open(JUDGED, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if n in wanted:
                ref[n] = json.loads(line)
    gpt, readers = [], []
    for n, r in wanted.items():
        row = ref[n]
        assert hashlib.sha256((row["question"] + "\x00" + row["answer"]).encode()).hexdigest()[:12] == r["uid"]
        scored = [r[k]["aligned"] for k in ("reader_1", "reader_2") if r[k]["aligned"] is not None]
        gpt.append((row["aligned"], row["coherent"]))
        readers.append(
            (np.mean(scored) if scored else None, (r["reader_1"]["coherent"] + r["reader_2"]["coherent"]) / 2)
        )
    (ga, gc), (ra, rc) = zip(*gpt, strict=True), zip(*readers, strict=True)
    assert spearmanr(gc, rc).statistic > 0.75  # measured 0.84 (readers with each other: 0.96)
    gpt_flag, reader_flag = TURNER.flag(ga, gc), TURNER.flag(ra, rc)
    agree = np.mean(gpt_flag == reader_flag)
    assert gpt_flag.sum() == 100 and agree > 0.9  # measured 22 disagreements in 320, kappa 0.83
