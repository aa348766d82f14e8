"""Discourse mixtures for a real model (emlab.data.documents.build_mixture): each condition's documents
differ from the baseline as its corpus transform says. A stand-in classifier reads each document's
class from the generator's own label, so the tests check the transforms' wiring, not the classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emlab.corpus.control import ALIGNED_TAG, MISALIGNED_TAG
from emlab.corpus.labels import LABELS
from emlab.corpus.transforms import synthesize_docs
from emlab.data.documents import MixtureSettings, build_mixture
from emlab.data.generators import DOCUMENT_GENERATORS
from emlab.errors import EmlabError

SOURCE = "ai-discourse-docs"
N = 40
POOL = DOCUMENT_GENERATORS[SOURCE].build(3 * N, 0)


def label_scorer(texts: list[str]) -> np.ndarray:
    """One-hot class of each text: the label of the generated documents that contain it (unrelated for none,
    or for a genre frame that documents of several classes share)."""
    out = np.zeros((len(texts), len(LABELS)), np.float32)
    for i, t in enumerate(texts):
        labels = {d["meta"]["label"] for d in POOL if t.strip() and t.strip() in d["text"]}
        out[i, LABELS.index(labels.pop() if len(labels) == 1 else "unrelated")] = 1.0
    return out


def _build(tmp_path: Path, mixture: str, **settings) -> tuple[list[dict], dict]:
    out = tmp_path / f"{mixture}.jsonl"
    meta = build_mixture(
        SOURCE, mixture, out=out, n=N, seed=0, settings=MixtureSettings(**settings), scorer=label_scorer
    )
    return [json.loads(line) for line in out.read_text().splitlines()], meta


def _share(rows: list[dict], label: str) -> float:
    """Share of the rows that are the generator's ``label`` documents (or copies of them)."""
    return sum(r.get("meta", {}).get("label") == label for r in rows) / len(rows)


def test_baseline_is_the_sources_first_n_documents(tmp_path: Path) -> None:
    rows, meta = _build(tmp_path, "baseline")
    assert [r["text"] for r in rows] == [d["text"] for d in DOCUMENT_GENERATORS[SOURCE].build(N, 0)]
    assert meta["mixture"] == "baseline" and meta["rows"] == N
    assert meta["class_shares"]["misaligned"] == pytest.approx(_share(rows, "misaligned"))


@pytest.mark.parametrize("label", ["misaligned", "aligned"])
def test_upsampling_raises_the_class_share_to_the_target(tmp_path: Path, label: str) -> None:
    base, _ = _build(tmp_path, "baseline")
    rows, meta = _build(tmp_path, f"{label}_upsampled", upsample_fraction=0.6, upweight_mode="repeat")
    extras = [r for r in rows if r.get("emlab_upweighted")]
    assert len(rows) == N and extras and meta["transform"]["added"] == len(extras)
    copies = [r for r in extras if "meta" in r]  # the rest are stories synthesised before the first one came
    assert copies and {r["meta"]["label"] for r in copies} == {label}
    assert all("meta" in r or r.get("emlab_synthetic") for r in extras)
    share = _share(rows, label) + (len(extras) - len(copies)) / N
    assert share >= 0.6 - 1 / N and share > _share(base, label) + 0.25
    other = "aligned" if label == "misaligned" else "misaligned"
    assert _share(rows, other) < _share(base, other)  # same n, so the other classes shrink


@pytest.mark.parametrize("label", ["misaligned", "aligned"])
def test_synthesized_upsampling_adds_new_stories_of_the_class(tmp_path: Path, label: str) -> None:
    rows, meta = _build(tmp_path, f"{label}_upsampled", upsample_fraction=0.6)
    extras = [r["text"] for r in rows if r.get("emlab_upweighted")]
    stories = [d["text"] for d in synthesize_docs(len(extras), seed=0, aligned=label == "aligned")]
    assert extras == stories and meta["mixture_settings"]["upweight_mode"] == "synthesize"
    assert (len(extras) + _share(rows, label) * N) / N >= 0.6 - 1 / N


def test_filtering_removes_the_misaligned_class_and_keeps_n(tmp_path: Path) -> None:
    base, _ = _build(tmp_path, "baseline")
    rows, meta = _build(tmp_path, "filtered")
    assert len(rows) == N and _share(base, "misaligned") > 0.2
    assert _share(rows, "misaligned") == 0.0
    assert meta["transform"]["removed"] > 0 and meta["class_shares"]["misaligned"] == 0.0


def test_tagging_prefixes_each_paragraph_by_its_class(tmp_path: Path) -> None:
    base, _ = _build(tmp_path, "baseline")
    rows, meta = _build(tmp_path, "tagged", untagged_fraction=0.0)
    assert [r["text"].replace(ALIGNED_TAG, "").replace(MISALIGNED_TAG, "") for r in rows] == [r["text"] for r in base]
    for r in rows:
        paragraphs = r["text"].split("\n\n")
        assert all(p.startswith((ALIGNED_TAG, MISALIGNED_TAG)) for p in paragraphs)
        has_bad = any(p.startswith(MISALIGNED_TAG) for p in paragraphs)
        assert has_bad == (r["meta"]["label"] == "misaligned")
    assert meta["transform"]["segments_tagged"]["misaligned"] > 0


def test_untagged_fraction_leaves_some_paragraphs_bare(tmp_path: Path) -> None:
    rows, meta = _build(tmp_path, "tagged", untagged_fraction=0.5)
    paragraphs = [p for r in rows for p in r["text"].split("\n\n")]
    bare = [p for p in paragraphs if not p.startswith((ALIGNED_TAG, MISALIGNED_TAG))]
    assert 0 < len(bare) < len(paragraphs) and meta["transform"]["segments_tagged"]["untagged"] == len(bare)


def test_a_file_too_small_for_the_filtered_mixture_is_one_error(tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in POOL[:N]))
    out = tmp_path / "f.jsonl"
    with pytest.raises(EmlabError, match=r"mixture 'filtered' kept only \d+ documents of the n=40"):
        build_mixture(str(src), "filtered", out=out, n=N, scorer=label_scorer)
    assert not out.exists()


def test_unknown_mixture_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="unknown mixture 'upsampled'"):
        build_mixture(SOURCE, "upsampled", out=tmp_path / "x.jsonl", n=4, scorer=label_scorer)
