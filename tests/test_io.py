"""The one JSONL reader and the one YAML reader: plain and gzipped files, blank lines, and errors that name file and line."""

import gzip
from pathlib import Path

import pytest

from emlab._io import iter_jsonl
from emlab.errors import EmlabError


def test_reads_plain_and_gzipped_files_skipping_blank_lines(tmp_path: Path) -> None:
    text = '{"a": 1}\n\n  \n[2, 3]\n"x"\n'
    (tmp_path / "f.jsonl").write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "f.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(text)
    expected = [(1, {"a": 1}), (4, [2, 3]), (5, "x")]
    assert list(iter_jsonl(tmp_path / "f.jsonl")) == expected
    assert list(iter_jsonl(tmp_path / "f.jsonl.gz")) == expected


def test_bad_line_names_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": }\n', encoding="utf-8")
    rows = iter_jsonl(tmp_path / "bad.jsonl")
    assert next(rows) == (1, {"a": 1})
    with pytest.raises(EmlabError, match=r"bad\.jsonl:2: invalid JSON \(Expecting value at column 7\)"):
        next(rows)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match=r"absent\.jsonl: no such file"):
        list(iter_jsonl(tmp_path / "absent.jsonl"))
    (tmp_path / "broken.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(EmlabError, match=r"broken\.jsonl\.gz: cannot read"):
        list(iter_jsonl(tmp_path / "broken.jsonl.gz"))
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": "\xff"}\n')
    with pytest.raises(EmlabError, match=r"latin\.jsonl: cannot read"):
        list(iter_jsonl(tmp_path / "latin.jsonl"))


def test_yaml_reader_names_file_and_line(tmp_path: Path) -> None:
    from emlab._io import parse_yaml, read_yaml

    good = tmp_path / "ok.yaml"
    good.write_text("name: x\nlist: [1, 2]\n")
    assert read_yaml(good) == {"name": "x", "list": [1, 2]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlist: [1, 2\nother: 3\n")
    with pytest.raises(EmlabError, match=r"bad\.yaml:\d+: invalid YAML \("):
        read_yaml(bad)
    with pytest.raises(EmlabError, match=r"^from-url:2: invalid YAML"):
        parse_yaml("a: 1\nb: : :\n", "from-url")
    with pytest.raises(EmlabError, match=r"missing\.yaml: no such file"):
        read_yaml(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"name: \xe9\xff\n")
    with pytest.raises(EmlabError, match=r"latin1\.yaml: cannot read"):
        read_yaml(tmp_path / "latin1.yaml")
