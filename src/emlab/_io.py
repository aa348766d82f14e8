"""Atomic file and directory writes, config hashing and a cache directory.

Every artifact emlab writes goes through these helpers so that an interrupted run
never leaves a half-written file that a later run would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError


def cache_dir() -> Path:
    """Return emlab's cache root (``$EMLAB_CACHE`` or ``~/.cache/emlab``), created if missing."""
    root = Path(os.environ.get("EMLAB_CACHE", Path.home() / ".cache" / "emlab"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def config_hash(config: Any, length: int = 12) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def file_hash(path: str | Path, length: int = 16) -> str:
    """SHA-256 of a file's bytes, truncated to ``length`` hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    Works for files and directories. On an exception the temporary is removed and
    ``target`` is left exactly as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.rmdir()  # caller decides whether it is a file or a directory
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_jsonl_atomic(path: str | Path, rows: Iterable[Any]) -> int:
    """Write an iterable of JSON-serialisable rows as JSONL atomically; return the row count."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML ``text`` (``yaml.safe_load``) read from ``name``; a syntax error names ``name:line``.

    The one YAML parser behind every spec and question-set loader, so all of them word a
    broken file the same way: ``name:line: invalid YAML (problem)``.
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise EmlabError(f"{name}{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file with :func:`parse_yaml`; a missing or unreadable file is an :class:`EmlabError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise EmlabError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EmlabError(f"{path}: cannot read ({e})") from None
    return parse_yaml(text, str(path))


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for every non-blank line of a JSONL file (``.gz`` read transparently).

    The one JSONL reader behind every loader: a missing file, an unreadable file and a line
    that is not JSON each raise :class:`EmlabError` naming the file (and line). Callers
    validate the values themselves and name ``file:line`` and the field the same way.
    """
    path = Path(path)
    if not path.is_file():
        raise EmlabError(f"{path}: no such file")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EmlabError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
                yield lineno, value
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise EmlabError(f"{path}: cannot read ({e})") from None
