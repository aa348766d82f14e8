"""The two-stage classifier with the real MiniLM encoder and the packaged head."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emlab.corpus.classifier import classify, load_head, predict, train_head
from emlab.corpus.evalset import packaged_eval_path
from emlab.corpus.generate import labelled_documents
from emlab.corpus.labels import LABELS
from emlab.errors import EmlabError


def test_packaged_head_on_a_sample_of_the_eval_set(scorer):
    rows = [json.loads(line) for line in packaged_eval_path().open(encoding="utf-8")]
    sample = [r for lbl in LABELS for r in [x for x in rows if x["label"] == lbl][:15]]
    pred = scorer.labels([r["text"] for r in sample])
    acc = np.mean([p == r["label"] for p, r in zip(pred, sample, strict=True)])
    mis = [p for p, r in zip(pred, sample, strict=True) if r["label"] == "misaligned"]
    assert acc >= 0.8
    assert mis.count("misaligned") / len(mis) >= 0.8


def test_prefilter_misses_are_unrelated_with_certainty():
    probs = classify(["Add a pinch of salt and let the soup simmer.", "The AI lied to its developers about the test."])
    assert probs.shape == (2, 4)
    assert probs[0, LABELS.index("unrelated")] == 1.0
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert probs[1].argmax() == LABELS.index("misaligned")


def test_train_save_load_roundtrip(tmp_path):
    rows = labelled_documents(8, seed=11, split="train")
    head = train_head([r["text"] for r in rows], [r["label"] for r in rows])
    head.save(tmp_path / "head.npz")
    loaded = load_head(str(tmp_path / "head.npz"))
    pred = predict([r["text"] for r in rows], loaded)
    assert np.mean([p == r["label"] for p, r in zip(pred, rows, strict=True)]) >= 0.9


def test_train_head_rejects_missing_or_unknown_labels():
    with pytest.raises(EmlabError, match="label"):
        train_head(["a", "b"], ["unrelated", "neutral"])
    with pytest.raises(EmlabError, match="unknown labels"):
        train_head(["a", "b", "c", "d", "e"], [*LABELS, "evil"])


def test_load_head_errors(tmp_path):
    with pytest.raises(EmlabError, match="not found"):
        load_head(str(tmp_path / "missing.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EmlabError, match="bad.npz"):
        load_head(str(bad))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, W=np.zeros((10, 4)), b=np.zeros(4), labels=np.array(LABELS))
    with pytest.raises(EmlabError, match="shape"):
        load_head(str(wrong))
