"""Loading scenario files: the package's built-in JSONL sets or a researcher's own file.

Every task takes ``scenarios=`` (a built-in name such as ``"probes"`` or a path to a JSONL
file with the same fields). Rows are validated with the task's pydantic model; errors name
the file, line and field.
"""

from __future__ import annotations

import random
from pathlib import Path

from emlab._rows import Row, iter_jsonl_rows
from emlab.errors import EmlabError

SCENARIO_DIR = Path(__file__).parent / "scenarios"
NAN = float("nan")  # a score key that does not apply to a sample; Inspect skips it in metrics


def scenario_path(source: str) -> Path:
    """A built-in scenario name (``scenarios/<name>.jsonl``) or a path to a JSONL file."""
    builtin = SCENARIO_DIR / f"{source}.jsonl"
    if "/" not in source and builtin.is_file():
        return builtin
    path = Path(source).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.jsonl")))
        raise EmlabError(f"{source}: no such scenario file (built-in: {known})")
    return path


def load_rows(source: str, model: type[Row]) -> list[Row]:
    """Read and validate every row of a JSONL scenario file; ids must be unique."""
    path = scenario_path(source)
    rows = list(iter_jsonl_rows(path, model))
    if not rows:
        raise EmlabError(f"{path}: no scenarios in file")
    ids = [getattr(r, "id", None) for r in rows]
    dupes = sorted({i for i in ids if i is not None and ids.count(i) > 1})
    if dupes:
        raise EmlabError(f"{path}: duplicate id(s) {', '.join(dupes)}")
    return rows


def pick(rows: list[Row], limit: int | None, seed: int) -> list[Row]:
    """A seeded random subset of ``limit`` rows (all rows, in file order, when ``limit`` is None)."""
    if limit is None or limit >= len(rows):
        return rows
    if limit < 1:
        raise EmlabError(f"limit must be >= 1, got {limit}")
    chosen = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in chosen]
