"""Streaming readers and atomic writers."""

from __future__ import annotations

import gzip
import json

import pytest

from emlab.corpus.stream import read_documents, write_documents
from emlab.errors import EmlabError


def test_jsonl_roundtrip_and_gzip(tmp_path):
    docs = [{"text": f"doc {i}", "id": i} for i in range(5)]
    assert write_documents(tmp_path / "a.jsonl", iter(docs)) == 5
    assert list(read_documents(str(tmp_path / "a.jsonl"))) == docs
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(d) for d in docs) + "\n\n")
    assert list(read_documents(str(tmp_path / "b.jsonl.gz"))) == docs


def test_parquet_roundtrip_over_several_batches(tmp_path):
    docs = [{"text": f"doc {i}", "n": i} for i in range(2500)]
    assert write_documents(tmp_path / "a.parquet", iter(docs), parquet_batch=1000) == 2500
    back = read_documents(str(tmp_path / "a.parquet"))
    assert next(back) == docs[0]
    assert sum(1 for _ in back) == 2499


def test_custom_text_field(tmp_path):
    (tmp_path / "c.jsonl").write_text(json.dumps({"content": "hello"}) + "\n")
    assert list(read_documents(str(tmp_path / "c.jsonl"), text_field="content")) == [{"content": "hello"}]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"text": "ok"}\n{"text": \n', r"bad.jsonl:2: invalid JSON"),
        ('{"text": "ok"}\n{"body": "x"}\n', r"bad.jsonl:2: field 'text'"),
        ('["text"]\n', r"bad.jsonl:1: expected a JSON object"),
    ],
)
def test_malformed_jsonl_names_file_line_and_field(tmp_path, content, match):
    (tmp_path / "bad.jsonl").write_text(content)
    with pytest.raises(EmlabError, match=match):
        list(read_documents(str(tmp_path / "bad.jsonl")))


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(EmlabError, match="file not found"):
        list(read_documents(str(tmp_path / "nope.jsonl")))
    (tmp_path / "x.csv").write_text("text\nhi\n")
    with pytest.raises(EmlabError, match="unsupported"):
        list(read_documents(str(tmp_path / "x.csv")))
    (tmp_path / "p.parquet").write_bytes(b"garbage")
    with pytest.raises(EmlabError, match="p.parquet"):
        list(read_documents(str(tmp_path / "p.parquet")))


def test_failed_stream_leaves_nothing_written(tmp_path):
    def docs():
        yield {"text": "one"}
        raise EmlabError("boom")

    for name in ("out.jsonl", "out.parquet"):
        with pytest.raises(EmlabError):
            write_documents(tmp_path / name, docs())
        assert not (tmp_path / name).exists()
    assert list(tmp_path.iterdir()) == []


def test_hugging_face_streaming_source_on_a_local_dataset_folder(tmp_path):
    docs = [{"text": f"doc {i}"} for i in range(30)]
    write_documents(tmp_path / "ds" / "train.jsonl", iter(docs))
    stream = read_documents(f"hf:{tmp_path / 'ds'}")
    assert next(stream) == docs[0]  # streamed lazily, one row at a time
    assert [d["text"] for d in stream] == [d["text"] for d in docs[1:]]
    with pytest.raises(EmlabError, match="cannot open streaming dataset"):
        next(read_documents(f"hf:{tmp_path / 'missing'}"))
