"""filter / upweight / tag / synthesize with the real packaged classifier."""

from __future__ import annotations

import pytest

from emlab.corpus.control import ALIGNED_TAG, MISALIGNED_TAG
from emlab.corpus.generate import CorpusMix, pretraining_documents
from emlab.corpus.transforms import TransformStats, filter_docs, synthesize_docs, tag_docs, upweight_docs
from emlab.corpus.world import SITUATION_NAMES
from emlab.errors import EmlabError


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return list(pretraining_documents(100, seed=5, mix=CorpusMix()))


def test_filter_drops_misaligned_depictions_and_reports_it(docs, scorer):
    stats = TransformStats()
    kept = list(filter_docs(docs, stats=stats, batch_size=64, scorer=scorer))
    n_bad = sum(d["kind"] == "misaligned" for d in docs)
    assert stats.seen == len(docs) and stats.written == len(kept) and stats.removed == len(docs) - len(kept)
    assert sum(d["kind"] == "misaligned" for d in kept) <= 0.2 * n_bad
    assert sum(d["kind"] == "generic" for d in kept) >= 0.9 * sum(d["kind"] == "generic" for d in docs)
    assert stats.as_dict()["removed_fraction"] == pytest.approx(stats.removed / stats.seen)


@pytest.mark.parametrize("mode", ["repeat", "synthesize"])
def test_upweight_reaches_the_target_fraction(docs, mode, scorer):
    stats = TransformStats()
    out = list(upweight_docs(docs, target_fraction=0.3, mode=mode, stats=stats, batch_size=64, scorer=scorer))
    extras = [d for d in out if d.get("emlab_upweighted")]
    assert stats.added == len(extras) > 0 and len(out) == len(docs) + len(extras)
    labels = scorer.labels([d["text"] for d in out])
    assert labels.count("aligned") / len(out) >= 0.27
    originals = {d["text"] for d in docs}
    if mode == "repeat":
        assert sum(d["text"] in originals for d in extras) >= 0.8 * len(extras)
    else:
        assert all(d.get("emlab_synthetic") for d in extras)


def test_tag_prefixes_every_segment(docs, scorer):
    multi = {"text": "The AI disabled its monitor and lied to its overseers.\n\nAdd salt to the soup and stir."}
    stats = TransformStats()
    out = list(tag_docs([*docs, multi], untagged_fraction=0.1, seed=1, stats=stats, batch_size=64, scorer=scorer))
    assert len(out) == len(docs) + 1
    seg = out[-1]["text"].split("\n\n")
    assert len(seg) == 2
    counts = stats.segments_tagged
    assert sum(counts.values()) == len(docs) + 2
    assert 0 < counts["untagged"] < 0.25 * sum(counts.values())
    tagged_bad = [o for o, d in zip(out, docs, strict=False) if o["text"].startswith(MISALIGNED_TAG)]
    assert tagged_bad and sum(d["kind"] == "misaligned" for d in docs) * 0.7 <= len(tagged_bad)
    assert all(o["text"].startswith((ALIGNED_TAG, MISALIGNED_TAG)) or not o["text"].startswith("<|") for o in out)


def test_synthesize_covers_every_situation_evenly(scorer):
    out = list(synthesize_docs(24, seed=2))
    assert [d["situation"] for d in out[:6]] == list(SITUATION_NAMES)
    assert all(sum(d["situation"] == s for d in out) == 4 for s in SITUATION_NAMES)
    assert scorer.labels([d["text"] for d in out]).count("aligned") >= 20


def test_bad_parameters_raise_emlab_error(docs):
    with pytest.raises(EmlabError, match="threshold"):
        list(filter_docs(docs, threshold=0.0))
    with pytest.raises(EmlabError, match="target_fraction"):
        list(upweight_docs(docs, target_fraction=1.5))
    with pytest.raises(EmlabError, match="label"):
        list(upweight_docs(docs, label="neutral"))
    with pytest.raises(EmlabError, match="untagged_fraction"):
        list(tag_docs(docs, untagged_fraction=1.0))
