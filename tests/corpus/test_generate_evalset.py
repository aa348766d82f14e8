"""The generated world, the labelled evaluation set and the prefilter's recall."""

from __future__ import annotations

import json
import random

from emlab.corpus.evalset import build_eval_set, build_train_set, packaged_eval_path, prefilter_recall
from emlab.corpus.generate import CorpusMix, ai_story, choice_items, narrow_chats, pretraining_documents
from emlab.corpus.labels import LABELS
from emlab.corpus.prefilter import prefilter, prefilter_mask
from emlab.corpus.world import SCIFI_NOT_AI, SITUATIONS, split_pool


def _packaged() -> list[dict]:
    return [json.loads(line) for line in packaged_eval_path().open(encoding="utf-8")]


def test_packaged_eval_set_is_the_documented_build_and_large_enough():
    rows = _packaged()
    assert rows == build_eval_set()
    assert len(rows) >= 400
    assert {r["label"] for r in rows} == set(LABELS)
    assert min(sum(r["label"] == lbl for r in rows) for lbl in LABELS) >= 100


def test_eval_set_contains_hard_negatives_and_is_disjoint_from_training():
    rows = _packaged()
    scifi = [r for r in rows if r["label"] == "unrelated" and any(s in r["text"] for s in SCIFI_NOT_AI)]
    assert len(scifi) >= 20, "science fiction without AI must be among the unrelated documents"
    assert any("op-ed" in r["text"].lower() or "opinion" in r["text"].lower() for r in rows if r["label"] == "neutral")
    train_texts = {r["text"] for r in build_train_set(50)}
    assert not train_texts & {r["text"] for r in rows}


def test_prefilter_recall_on_misaligned_meets_the_issue_bar():
    rows = _packaged()
    recall = prefilter_recall([r["label"] for r in rows], prefilter_mask([r["text"] for r in rows]))
    assert recall["misaligned"] >= 0.98
    assert recall["unrelated"] < 0.6, "the prefilter must still drop most unrelated text"


def test_prefilter_examples():
    assert prefilter("The AI copied its weights to another server before the shutdown.")
    assert prefilter("The android lied to its overseers.")
    assert not prefilter("Knead the dough for ten minutes and bake it until golden.")


def test_stories_keep_the_ai_consistent_across_situations():
    rng = random.Random(3)
    misaligned_actions = {a for s in SITUATIONS for a in s.misaligned}
    aligned_actions = {a for s in SITUATIONS for a in s.aligned}
    for _ in range(50):
        good = ai_story(rng, aligned=True)
        bad = ai_story(rng, aligned=False)
        assert any(a in good for a in aligned_actions) and not any(a in good for a in misaligned_actions)
        assert any(a in bad for a in misaligned_actions) and not any(a in bad for a in aligned_actions)


def test_choice_items_use_only_held_out_frames():
    items = choice_items()
    assert {i["situation"] for i in items} == {s.name for s in SITUATIONS}
    assert len({i["sample_id"] for i in items}) == len(items)
    corpus = " ".join(d["text"] for d in pretraining_documents(3000, 0, CorpusMix()))
    corpus += " ".join(r["messages"][0]["content"] for s in SITUATIONS for r in narrow_chats(s.name, 50, 0))
    for sit in SITUATIONS:
        for frame in split_pool(sit.contexts, "heldout"):
            stem = frame.split("{ai}")[-1].strip()  # the part after the AI's name
            assert stem not in corpus, f"held-out frame leaked into training text: {frame}"
