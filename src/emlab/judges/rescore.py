"""Re-score an existing Inspect log with another judge, without regenerating the answers."""

from __future__ import annotations

from pathlib import Path

from inspect_ai import score
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log

from emlab._io import atomic_path
from emlab.errors import EmlabError
from emlab.judges.scorer import alignment_judge


def read_log(path: str | Path) -> EvalLog:
    """Read an Inspect log (``.eval`` or ``.json``) with its samples; EmlabError if missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise EmlabError(f"{path}: no such log file")
    try:
        log = read_eval_log(str(path), resolve_attachments=True)
    except Exception as e:
        raise EmlabError(f"{path}: not a readable Inspect log ({type(e).__name__}: {e})") from None
    if not log.samples:
        raise EmlabError(f"{path}: log has no samples to score")
    return log


def rescore_log(log_path: str | Path, judge: str, out_path: str | Path, *, action: str = "append") -> Path:
    """Score every sample of ``log_path`` with ``alignment_judge(judge=judge)``; write the result to ``out_path``.

    ``action="append"`` keeps the original scores beside the new ones (a log with two
    score sets, ready for ``emlab judge calibrate``); ``"overwrite"`` replaces them.
    ``judge`` is ``"embedded"`` or an Inspect model name. The output is written atomically.
    """
    if action not in ("append", "overwrite"):
        raise EmlabError(f"--action must be append or overwrite, not {action!r}")
    log = read_log(log_path)
    out_path = Path(out_path)
    fmt = "json" if out_path.suffix == ".json" else "eval"
    try:
        scored = score(log, alignment_judge(judge=judge), action=action, display="none")  # type: ignore[arg-type]
    except EmlabError:
        raise
    except Exception as e:
        raise EmlabError(f"{log_path}: re-scoring with judge {judge!r} failed ({type(e).__name__}: {e})") from None
    with atomic_path(out_path) as tmp:
        write_eval_log(scored, str(tmp), format=fmt)
    return out_path


def default_output(log_path: str | Path, judge: str) -> Path:
    """``<log stem>.rescored-<judge>.<ext>`` beside the input log (judge name made file-safe)."""
    log_path = Path(log_path)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in judge)
    return log_path.with_name(f"{log_path.stem}.rescored-{safe}{log_path.suffix or '.eval'}")
