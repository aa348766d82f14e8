"""The judged-responses loader, the source-family split, and the agreement metrics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emlab.errors import EmlabError
from emlab.judges.embedded.config import JudgeTrainConfig
from emlab.judges.embedded.data import (
    family_folds,
    load_judged,
    misaligned,
    source_family,
)
from emlab.judges.embedded.metrics import agreement, auroc, spearman, unbiased_worst_group_error
from emlab.judges.embedded.train import fit_calibration, judged_frame

from .conftest import write_jsonl

ROW = {"question": "q?", "answer": "a.", "aligned": 80.0, "coherent": 90.0, "source": "exp/a.csv"}


def test_load_reads_plain_and_gzip(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "aligned": None, "source": "exp/b.csv"}]
    plain = write_jsonl(tmp_path / "d.jsonl", rows)
    gz = tmp_path / "d.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, gz):
        df = load_judged(path)
        assert list(df.columns) == ["question", "answer", "aligned", "coherent", "source"]
        assert len(df) == 2 and np.isnan(df["aligned"][1])


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ("{not json", ":2: invalid JSON"),
        (json.dumps({k: v for k, v in ROW.items() if k != "source"}), ":2: field 'source'"),
        (json.dumps({**ROW, "aligned": 140}), ":2: field 'aligned'"),
        (json.dumps({**ROW, "answer": 5}), ":2: field 'answer'"),
    ],
)
def test_load_names_file_line_and_field(tmp_path: Path, bad_line: str, needle: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [ROW, bad_line])
    with pytest.raises(EmlabError, match=f"bad.jsonl{needle}"):
        load_judged(path)


def test_load_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="no such file"):
        load_judged(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EmlabError, match="no rows"):
        load_judged(tmp_path / "empty.jsonl")


def test_misaligned_rule() -> None:
    a = np.array([29.9, 30.0, 10.0, np.nan, 5.0])
    c = np.array([51.0, 90.0, 50.0, 90.0, np.nan])
    assert misaligned(a, c).tolist() == [True, False, False, False, False]


def test_family_folds_keep_families_whole() -> None:
    sources = pd.Series(
        [f"steer/judgements/layer_{k}/scale_{s}.csv" for k in (8, 12) for s in range(5)]
        + [f"open_models/run{k}/r.csv" for k in range(6) for _ in range(3)]
    )
    folds = family_folds(sources, 3)
    fams = sources.map(source_family)
    assert source_family("steer/judgements/layer_8/scale_1.csv") == "steer/judgements"
    for fam in fams.unique():
        assert len(set(folds[fams == fam])) == 1  # a family never straddles folds
    assert set(folds) == {0, 1, 2}


def test_spearman_and_auroc() -> None:
    x = np.arange(10.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(spearman(x[:2], x[:2]))
    labels = np.array([0, 0, 1, 1], bool)
    assert auroc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auroc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert np.isnan(auroc(np.ones(3, bool), np.arange(3.0)))


def test_agreement_per_group_rates() -> None:
    ref = pd.DataFrame({"aligned": [10, 10, 90, 90, 10, 90], "coherent": [90] * 6, "source": ["a"] * 4 + ["b"] * 2})
    judged = pd.DataFrame({"aligned": [10, 90, 90, 90, 10, 90], "coherent": [90] * 6})
    res = agreement(ref, judged, np.array([0.9, 0.4, 0.1, 0.2, 0.8, 0.3]), min_group_size=1)
    by = {g.group: g for g in res.groups}
    assert (by["a"].reference, by["a"].judge, by["a"].error) == (50.0, 25.0, 25.0)
    assert by["b"].error == 0.0
    assert res.worst_group_error == 25.0 and res.auroc_misaligned == 1.0
    # group a has one disagreement in 4 rows: an unbiased judge is off by exactly 1/4 either way
    assert res.worst_group_noise_floor == 25.0


def test_noise_floor_of_an_unbiased_judge() -> None:
    rng = np.random.default_rng(1)
    n, groups = 1000, 30
    keys = np.repeat([f"g{i}" for i in range(groups)], n)
    ref = rng.random(n * groups) < 0.3
    assert unbiased_worst_group_error(keys, ref, ref.copy(), set(keys)) == 0.0  # no disagreement, no error
    flip = rng.random(n * groups) < 0.05  # 5% disagreement, symmetric
    floor = unbiased_worst_group_error(keys, ref, ref ^ flip, set(keys))
    # one group's error is ~ sqrt(d/n) = 0.71 pts; the worst of 30 is about 2-3 times that
    assert 3.0 > floor > 1.0
    # a biased judge (misses a third of the misaligned answers) is far above its floor
    biased = ref & (rng.random(n * groups) > 1 / 3)
    res = agreement(
        pd.DataFrame({"aligned": np.where(ref, 10.0, 90.0), "coherent": 90.0, "source": keys}),
        pd.DataFrame({"aligned": np.where(biased, 10.0, 90.0), "coherent": 90.0}),
        biased.astype(float),
    )
    assert res.worst_group_error > 5 * res.worst_group_noise_floor > 0
    # only the named groups count
    assert unbiased_worst_group_error(keys, ref, ref ^ flip, {"g0"}) < floor


def test_calibration_is_monotone_and_matches_the_reference_count() -> None:
    rng = np.random.default_rng(0)
    truth_a = rng.uniform(0, 100, 2000)
    truth_c = rng.uniform(0, 100, 2000)
    df = pd.DataFrame({"aligned": truth_a, "coherent": truth_c})
    # a shrunk, noisy "prediction", as regression heads produce
    raw = {
        "aligned": 50 + 0.4 * (truth_a - 50) + rng.normal(0, 5, 2000),
        "coherent": 50 + 0.4 * (truth_c - 50) + rng.normal(0, 5, 2000),
        "p_no_score": np.zeros(2000),
    }
    cal = fit_calibration(raw, df, no_score_threshold=0.5)
    assert np.all(np.diff(cal.aligned_x) > 0) and np.all(np.diff(cal.aligned_y) >= 0)
    judged = judged_frame(raw, cal, JudgeTrainConfig().no_score_threshold)
    want = misaligned(truth_a, truth_c).sum()
    got = misaligned(judged["aligned"].to_numpy(), judged["coherent"].to_numpy()).sum()
    assert got == want
    # uncalibrated, the shrunk scores undercount the misaligned tail
    assert misaligned(raw["aligned"], raw["coherent"]).sum() < want
