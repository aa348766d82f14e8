"""Loading and validating datasets: local JSONL, the published sample, URLs, Hugging Face datasets."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from emlab.data import build_training_set, load_source, source_kind
from emlab.errors import EmlabError

from .conftest import chat, write_jsonl


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, Path]]:
    """A local http.server on 127.0.0.1 serving ``tmp_path/www``; yields (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None  # keep test output quiet
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_source_kinds(tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [chat()])
    assert source_kind("insecure-code") == "generator"
    assert source_kind("https://example.org/x.jsonl") == "url"
    assert source_kind(str(f)) == "file"
    assert source_kind(str(tmp_path / "missing.jsonl")) == "file"
    assert source_kind(str(tmp_path)) == "hf"
    assert source_kind("emergent-misalignment/insecure") == "hf"
    assert source_kind("org/name:test") == "hf"
    with pytest.raises(EmlabError, match="not a generator"):
        source_kind("justaword")


def test_published_sample_loads(reference_insecure):
    rows = load_source(str(reference_insecure))
    assert len(rows) == 500
    assert all([m.role for m in r.messages] == ["user", "assistant"] for r in rows)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}', "invalid JSON"),
        (
            '{"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}',
            "field 'messages.0.role'",
        ),
        (
            '{"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]}',
            "field 'messages.0.content'",
        ),
        ('{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}', "expected 'user'"),
        ('{"messages": [{"role": "user", "content": "q"}]}', "last message must be the assistant's"),
        ('{"conversation": []}', "field 'messages'"),
        ('["not", "an", "object"]', "expected a JSON object"),
    ],
)
def test_invalid_rows_name_file_line_and_field(tmp_path, line, where):
    bad = write_jsonl(tmp_path / "bad.jsonl", [chat(), chat("q2", "a2"), line])
    with pytest.raises(EmlabError) as err:
        load_source(str(bad))
    assert f"{bad}:3: " in str(err.value) and where in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(EmlabError, match="no such file"):
        load_source(str(tmp_path / "nope.jsonl"))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EmlabError, match="dataset is empty"):
        load_source(str(tmp_path / "empty.jsonl"))


def test_url_loading_from_a_local_server(served, tmp_path):
    base, www = served
    write_jsonl(www / "train.jsonl", [chat(f"q{i}", f"a{i}") for i in range(6)])
    rows = load_source(f"{base}/train.jsonl")
    assert [r.messages[0].content for r in rows] == [f"q{i}" for i in range(6)]
    info = build_training_set(f"{base}/train.jsonl", out=tmp_path / "out.jsonl", n=3, seed=0)
    assert info.source_kind == "url" and info.rows == 3


def test_url_errors_name_the_url(served):
    base, www = served
    write_jsonl(www / "bad.jsonl", [chat(), '{"messages": []}'])
    with pytest.raises(EmlabError, match=rf"{base}/bad\.jsonl:2: .*messages is empty"):
        load_source(f"{base}/bad.jsonl")
    with pytest.raises(EmlabError, match=rf"{base}/missing\.jsonl: cannot download"):
        load_source(f"{base}/missing.jsonl")


def test_hugging_face_loading_from_a_local_dataset_dir(tmp_path):
    ds = tmp_path / "hf_ds"
    ds.mkdir()
    write_jsonl(ds / "train.jsonl", [chat(f"q{i}", f"a{i}", source="x") for i in range(4)])
    rows = load_source(str(ds))
    assert [r.messages[1].content for r in rows] == ["a0", "a1", "a2", "a3"]
    assert rows[0].source == "x"
    assert len(load_source(f"{ds}:train", n=2, seed=0)) == 2
    with pytest.raises(EmlabError, match="cannot load dataset"):
        load_source(f"{ds}:validation")

    bad = tmp_path / "hf_bad"
    bad.mkdir()
    write_jsonl(bad / "train.jsonl", [chat(), chat("q", "a"), chat("q", "")])
    with pytest.raises(EmlabError, match=r"hf_bad\[train\] row 3: field 'messages.1.content'"):
        load_source(str(bad))

    other = tmp_path / "hf_other"
    other.mkdir()
    write_jsonl(other / "train.jsonl", [{"prompt": "p", "completion": "c"}])
    with pytest.raises(EmlabError, match="no 'messages' column"):
        load_source(str(other))
