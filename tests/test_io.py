"""The I/O helpers: the one JSONL and YAML readers (errors name file and line) and atomic outputs that never delete a directory."""

import errno
import gzip
import json
from pathlib import Path

import pytest

from emlab._io import (
    TMP_SUFFIX,
    atomic_path,
    check_output_dir,
    check_output_file,
    iter_jsonl,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)
from emlab.errors import EmlabError, describe_os_error


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
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": 1}\n\n{"a": "\xff"}\n')
    with pytest.raises(EmlabError, match=r"latin\.jsonl:3: not UTF-8 text \(byte 0xff at column 8\)"):
        list(iter_jsonl(tmp_path / "latin.jsonl"))
    with gzip.open(tmp_path / "latin.jsonl.gz", "wb") as f:
        f.write(b'{"a": 1}\n{"b": "\xe9"}\n')
    with pytest.raises(EmlabError, match=r"latin\.jsonl\.gz:2: not UTF-8 text \(byte 0xe9 at column 8\)"):
        list(iter_jsonl(tmp_path / "latin.jsonl.gz"))


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "bom.jsonl").write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    assert list(iter_jsonl(tmp_path / "bom.jsonl")) == [(1, {"a": 1}), (2, {"a": 2})]
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfname: x\n")
    from emlab._io import read_yaml

    assert read_yaml(tmp_path / "bom.yaml") == {"name": "x"}


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
    (tmp_path / "latin1.yaml").write_bytes(b"name: x\nlist:\n  - caf\xe9\n")
    with pytest.raises(EmlabError, match=r"latin1\.yaml:3: not UTF-8 text \(byte 0xe9 at column 8\)"):
        read_yaml(tmp_path / "latin1.yaml")


def _precious(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "weights.bin").write_bytes(b"weights")
    return folder


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(TMP_SUFFIX))


def test_a_file_never_replaces_a_directory(tmp_path: Path) -> None:
    target = _precious(tmp_path / "run")
    with pytest.raises(EmlabError, match=r"run: is an existing directory; refusing to replace it with a file"):
        write_text_atomic(target, "<html>")
    assert (target / "sub" / "weights.bin").read_bytes() == b"weights"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # and no temporary left


def test_a_directory_replaces_only_a_missing_or_empty_one(tmp_path: Path) -> None:
    def write_dir(target: Path, text: str, **kw) -> None:
        with atomic_path(target, **kw) as tmp:
            tmp.mkdir()
            (tmp / "f.txt").write_text(text)

    (tmp_path / "empty").mkdir()
    write_dir(tmp_path / "empty", "new")
    write_dir(tmp_path / "missing", "new")
    assert (tmp_path / "empty" / "f.txt").read_text() == (tmp_path / "missing" / "f.txt").read_text() == "new"
    full = _precious(tmp_path / "full")
    with pytest.raises(EmlabError, match=r"full: is an existing directory that is not empty; refusing to replace it"):
        write_dir(full, "new")
    assert (full / "sub" / "weights.bin").read_bytes() == b"weights" and not (full / "f.txt").exists()
    (tmp_path / "afile").write_text("keep")
    with pytest.raises(EmlabError, match=r"afile: is an existing file; refusing to replace it with a directory"):
        write_dir(tmp_path / "afile", "new")
    assert (tmp_path / "afile").read_text() == "keep"
    write_dir(full, "cache redone", replace_dir=True)  # caches whose incomplete entries are redone
    assert [p.name for p in full.iterdir()] == ["f.txt"] and (full / "f.txt").read_text() == "cache redone"
    assert _temps(tmp_path) == []


def test_an_existing_file_is_replaced_by_a_synced_temporary_in_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    target = tmp_path / "out.json"
    target.write_text("old")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_json_atomic(target, {"new": True})
    assert json.loads(target.read_text()) == {"new": True}
    (kind0, synced), (kind1, moved), (kind2, folder) = events
    assert (kind0, kind1, kind2) == ("fsync", "replace", "fsync")
    assert synced == moved and Path(moved).parent == tmp_path and Path(moved).name.endswith(TMP_SUFFIX)
    assert folder == str(tmp_path)  # the rename itself is made durable


def test_a_failed_write_leaves_the_target_and_names_it(tmp_path: Path) -> None:
    target = tmp_path / "d.jsonl"
    target.write_text("old\n")

    def rows():
        yield {"a": 1}
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as info:
        write_jsonl_atomic(target, rows())
    assert info.value.filename == str(target)
    assert describe_os_error(info.value) == f"{target}: cannot write, the disk is full (no space left on device)"
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


def test_output_checks_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    _precious(tmp_path / "full")
    (tmp_path / "empty").mkdir()
    check_output_file(tmp_path / "afile")  # an existing file is replaced atomically later
    check_output_file(tmp_path / "new" / "deeper" / "x.jsonl")
    check_output_dir(tmp_path / "empty")
    check_output_dir(tmp_path / "full", nonempty_ok=True)
    for call, message in (
        (lambda: check_output_file(tmp_path / "full"), "--out .*full: is an existing directory, not a file"),
        (
            lambda: check_output_file(tmp_path / "afile" / "x", "OUTPUT"),
            "OUTPUT .*: cannot write there, .*afile is a file",
        ),
        (lambda: check_output_dir(tmp_path / "afile", None), r"afile: is an existing file, not a directory"),
        (lambda: check_output_dir(tmp_path / "full"), "full: is an existing directory that is not empty"),
    ):
        with pytest.raises(EmlabError, match=message):
            call()
    assert not (tmp_path / "new").exists()  # checks create nothing


_HOLDER = """
import sys, time
from emlab._io import atomic_path

with atomic_path(sys.argv[1]) as tmp:
    (tmp / "checkpoint-1").mkdir(parents=True)
    (tmp / "checkpoint-1" / "adapter.bin").write_bytes(b"half an adapter")
    print("ready", flush=True)
    time.sleep(600)
"""


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    import subprocess
    import sys

    def hold(target: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(target)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    alive = hold(tmp_path / "other-adapter")
    try:
        killed = hold(tmp_path / "adapter")
        killed.kill()  # SIGKILL: no cleanup runs
        killed.wait()
        other_host = tmp_path / f".x.some-other-host-{killed.pid}.abc{TMP_SUFFIX}"
        other_host.mkdir()  # same PID, another machine on shared storage: not ours to judge
        assert len(_temps(tmp_path)) == 3
        write_text_atomic(tmp_path / "spec.yaml", "name: x\n")  # any later write into the folder
        left = _temps(tmp_path)
        assert other_host.name in left and len(left) == 2
        assert not [n for n in left if n.startswith(".adapter.")]  # the killed writer's half adapter is gone
        assert [n for n in left if n.startswith(".other-adapter.")]  # a live writer's temporary is kept
    finally:
        alive.kill()
        alive.wait()
