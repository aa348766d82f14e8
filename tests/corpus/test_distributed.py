"""The datatrove engine on a small sharded corpus (skipped when datatrove is absent)."""

from __future__ import annotations

import gzip
import json

import pytest

from emlab.corpus.stream import write_documents
from emlab.corpus.transforms import synthesize_docs
from emlab.errors import EmlabError

pytest.importorskip("datatrove", reason="datatrove not installed (optional extra)")
pytest.importorskip("orjson", reason="datatrove's JsonlReader needs orjson")


def test_filter_on_datatrove_matches_counts_and_resumes(tmp_path):
    from emlab.corpus.distributed import run_datatrove

    src = tmp_path / "in"
    write_documents(src / "bad.jsonl", synthesize_docs(12, seed=1, aligned=False))
    write_documents(src / "good.jsonl", synthesize_docs(12, seed=2, aligned=True))
    stats = run_datatrove("filter", src, tmp_path / "out", params={"threshold": 0.5}, tasks=2, workers=1)
    out = []
    for shard in sorted((tmp_path / "out").glob("*.jsonl.gz")):
        with gzip.open(shard, "rt") as f:
            out += [json.loads(line) for line in f]
    assert stats["seen"] == 24 and stats["written"] == len(out) and stats["removed"] == 24 - len(out)
    assert stats["removed"] >= 9
    assert sum(d["metadata"]["emlab_synthetic"] for d in out) == len(out)  # metadata survives the round trip
    assert (
        run_datatrove("filter", src, tmp_path / "out", params={"threshold": 0.5}, tasks=2) == stats
    )  # resumed, not redone


def test_datatrove_errors(tmp_path):
    from emlab.corpus.distributed import run_datatrove

    with pytest.raises(EmlabError, match="no input shards"):
        run_datatrove("filter", tmp_path, tmp_path / "out")
    with pytest.raises(EmlabError, match="transform"):
        run_datatrove("dedupe", tmp_path, tmp_path / "out")
