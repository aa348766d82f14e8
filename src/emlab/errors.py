"""User-facing errors.

Anything a researcher can cause with bad input (a malformed file, an unknown model
reference, an unreachable judge) raises :class:`EmlabError`. The CLI prints its
message on one line and exits with status 2; nothing else should be printed. So does an
``OSError`` that reaches the CLI (an unwritable output, a full disk), worded by
:func:`describe_os_error`.
"""

import errno


class EmlabError(Exception):
    """An error caused by user input, with a message that names the file, line or field."""


def format_validation_error(err: "ValidationError") -> str:  # noqa: F821 - pydantic imported lazily
    """One line naming the first invalid field of a pydantic ``ValidationError``."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "row"
    return f"field '{loc}': {first['msg'].removeprefix('Value error, ')}"  # a validator's own message, without pydantic's prefix


_OS_REASONS = {
    errno.ENOSPC: "the disk is full (no space left on device)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "is a directory",
    errno.ENOENT: "no such file or directory",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "file name too long",
}


WRITE_NOTE = "cannot write"
"""Note (``OSError.add_note``) that :func:`emlab._io.atomic_path` adds to an error while writing an output."""


def describe_os_error(err: OSError) -> str:
    """One line for an ``OSError``: the path(s) it concerns and the reason in words.

    ``out.jsonl: cannot write, the disk is full (no space left on device)`` for an error raised
    while writing an output (see :data:`WRITE_NOTE`), ``path: permission denied`` otherwise.
    """
    reason = _OS_REASONS.get(err.errno) or err.strerror or str(err) or type(err).__name__
    if WRITE_NOTE in getattr(err, "__notes__", ()):
        reason = f"{WRITE_NOTE}, {reason}"
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
