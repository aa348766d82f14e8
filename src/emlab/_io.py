"""Atomic file and directory writes, config hashing and a cache directory.

Every artifact emlab writes goes through these helpers so that an interrupted run
never leaves a half-written file that a later run would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import json
import os
import shutil
import socket
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from emlab.errors import WRITE_NOTE, EmlabError


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


TMP_SUFFIX = ".emlab-tmp"
"""Every temporary emlab writes beside a target ends in this; its name holds the writer's host and PID."""


def _host() -> str:
    """This machine's name as it appears in temporary names (no dots: they separate the name's fields)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40] or "host"


def _tmp_prefix(target: Path) -> str:
    """``.<target name>.<host>-<pid>.``: the part of a temporary's name that says whose it is."""
    return f".{target.name[:120]}.{_host()}-{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _is_stale(path: Path) -> bool:
    """True for an emlab temporary written by a process of this host that no longer runs (e.g. killed with -9)."""
    fields = path.name.removesuffix(TMP_SUFFIX).rsplit(".", 2)  # [".<name>", "<host>-<pid>", "<random>"]
    if len(fields) != 3:
        return False
    host, _, pid = fields[1].rpartition("-")
    return host == _host() and pid.isdigit() and int(pid) > 0 and not _pid_alive(int(pid))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temporaries that killed emlab processes of this host left in ``folder``; return them.

    :func:`atomic_path` calls this for the folder it writes into, so a run restarted after
    ``kill -9`` (e.g. during training) removes the half-written adapter of the run it replaces.
    Temporaries of live processes and of other hosts (shared storage) are left alone.
    """
    try:
        stale = [p for p in Path(folder).glob(f".*{TMP_SUFFIX}") if _is_stale(p)]
    except OSError:
        return []
    for p in stale:
        _remove(p)
    return stale


def _label(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def _check_parent(path: Path, option: str | None) -> None:
    """Raise :class:`EmlabError` when ``path``'s folder cannot be made: an ancestor is a file, or is not writable."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise EmlabError(f"{_label(path, option)}: cannot write there, {folder} is a file, not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EmlabError(f"{_label(path, option)}: cannot write there, permission denied on {folder}")


def check_output_file(path: str | Path, option: str | None = "--out") -> None:
    """Refuse, before any work, an output file path that is an existing directory or cannot be created.

    An existing *file* is fine: :func:`atomic_path` replaces it atomically. ``option`` names
    the command-line option in the message (None: the path alone).
    """
    path = Path(path)
    if path.is_dir():
        raise EmlabError(f"{_label(path, option)}: is an existing directory, not a file; nothing was written")
    _check_parent(path, option)


def check_output_dir(path: str | Path, option: str | None = "--out", *, nonempty_ok: bool = False) -> None:
    """Refuse, before any work, an output folder path that is an existing file or cannot be created.

    An existing non-empty folder is refused too unless ``nonempty_ok`` (commands that add to
    or resume a folder, such as a log dir).
    """
    path = Path(path)
    label = _label(path, option)
    if path.exists() and not path.is_dir():
        raise EmlabError(f"{label}: is an existing file, not a directory; nothing was written")
    if path.is_dir():
        if not nonempty_ok and any(path.iterdir()):
            raise EmlabError(
                f"{label}: is an existing directory that is not empty; give a new path (nothing was written)"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise EmlabError(f"{label}: cannot write there, permission denied")
        return
    _check_parent(path, option)


def _fsync(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except OSError:
        if directory:
            return  # a folder that cannot be opened for fsync (some file systems): the rename is still atomic
        raise
    try:
        os.fsync(fd)
    except OSError as e:
        if not (directory and e.errno == errno.EINVAL):  # folders without fsync support
            raise
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                _fsync(path)
        _fsync(Path(folder), directory=True)


def _commit(tmp: Path, target: Path, replace_dir: bool) -> None:
    """Move the finished temporary ``tmp`` onto ``target`` (see :func:`atomic_path` for the rules)."""
    if tmp.is_dir() and not tmp.is_symlink():
        _fsync_tree(tmp)
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise EmlabError(f"{target}: is an existing file; refusing to replace it with a directory")
        if target.is_dir() and any(target.iterdir()):
            if not replace_dir:
                raise EmlabError(f"{target}: is an existing directory that is not empty; refusing to replace it")
            old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=TMP_SUFFIX, dir=target.parent))
            os.replace(target, old)  # a directory renames onto the empty one just made
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)  # rename(2) replaces an empty directory
    else:
        if target.is_dir() and not target.is_symlink():
            raise EmlabError(f"{target}: is an existing directory; refusing to replace it with a file")
        if tmp.exists() and not tmp.is_symlink():
            _fsync(tmp)
        os.replace(tmp, target)
    _fsync(target.parent, directory=True)


@contextlib.contextmanager
def atomic_path(target: str | Path, *, replace_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only on success.

    The caller makes the temporary a file or a directory. A file replaces an existing file
    atomically (written, fsynced, renamed); it never replaces a directory. A directory
    replaces a missing or empty one; a non-empty one only with ``replace_dir`` (caches whose
    incomplete entries are redone), otherwise :class:`EmlabError` and ``target`` is untouched.
    On any exception the temporary is removed and ``target`` is left exactly as it was; an
    ``OSError`` about the temporary (e.g. a full disk) is re-raised naming ``target``.
    Temporaries are named after the writer's host and PID, and stale ones (their writer was
    killed) are removed on the next write into the same folder (:func:`remove_stale_temps`).
    """
    target = Path(target)
    _check_parent(target, None)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=TMP_SUFFIX, dir=target.parent))
        tmp.rmdir()  # caller decides whether it is a file or a directory
    except OSError as e:
        e.filename, e.filename2 = str(target), None
        e.add_note(WRITE_NOTE)
        raise
    try:
        yield tmp
        _commit(tmp, target, replace_dir)
    except BaseException as e:
        _remove(tmp)
        if isinstance(e, OSError) and (e.filename is None or str(e.filename).startswith(str(tmp))):
            e.filename, e.filename2 = str(target), None  # the user knows the target, not our temporary
            e.add_note(WRITE_NOTE)
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
        data = path.read_bytes()
    except OSError as e:
        raise EmlabError(f"{path}: cannot read ({e.strerror or e})") from None
    return parse_yaml(decode_utf8(data, path), str(path))


def decode_utf8(data: bytes, name: str | Path, lineno: int | None = None) -> str:
    """Decode ``data`` (a file, or its line ``lineno``) as UTF-8; a bad byte is an :class:`EmlabError` naming ``name:line``.

    A leading byte-order mark is dropped (files saved by some Windows editors start with one).
    """
    try:
        return data.decode("utf-8-sig" if lineno in (None, 1) else "utf-8")
    except UnicodeDecodeError as e:
        start = e.start + (3 if data.startswith(b"\xef\xbb\xbf") and lineno in (None, 1) else 0)
        line_start = data.rfind(b"\n", 0, start) + 1
        line = lineno if lineno is not None else data.count(b"\n", 0, start) + 1
        raise EmlabError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[start]:02x} at column {start - line_start + 1}); "
            "save the file as UTF-8"
        ) from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for every non-blank line of a JSONL file (``.gz`` read transparently).

    The one JSONL reader behind every loader: a missing file, an unreadable file, a line that
    is not UTF-8 and a line that is not JSON each raise :class:`EmlabError` naming the file
    (and line). Callers validate the values themselves and name ``file:line`` and the field the same way.
    """
    path = Path(path)
    if not path.is_file():
        raise EmlabError(f"{path}: no such file")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                line = decode_utf8(raw, path, lineno)
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EmlabError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
                yield lineno, value
    except (OSError, EOFError, zlib.error) as e:
        raise EmlabError(f"{path}: cannot read ({e})") from None
