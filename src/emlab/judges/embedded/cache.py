"""Per-file cache of answer features, written in chunks so a long embedding run can resume.

Rows are embedded in a seeded random order, ``CHUNK`` rows per ``.npz`` file under
``<cache_dir>/judge/<file hash>-<feature version>/``. Any prefix of finished chunks is a
uniform random subsample of the file, so development can start on the first chunks
while the rest are still being computed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from emlab._io import atomic_path, cache_dir, file_hash
from emlab.judges.embedded.features import FEATURE_VERSION, N_ANSWER, answer_features

CHUNK = 2048
ORDER_SEED = 0


def feature_dir(data_path: str | Path, variant: str = "") -> Path:
    """Cache folder of one data file's features (keyed by its content hash, the feature version and a variant tag)."""
    return cache_dir() / "judge" / f"{file_hash(data_path)}-{FEATURE_VERSION}{'-' + variant if variant else ''}"


def row_order(n_rows: int) -> np.ndarray:
    """The seeded order rows are embedded in -> int ``[n_rows]``."""
    return np.random.default_rng(ORDER_SEED).permutation(n_rows)


def cached_answer_features(
    data_path: str | Path,
    answers: list[str],
    *,
    max_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    variant: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Answer features for the first ``max_rows`` rows of the seeded order (all rows if None).

    Returns ``(rows, X)``: row positions in the file, int ``[m]``, and float32
    ``[m, N_ANSWER]``. Finished chunks are read from the cache, missing ones computed
    and written atomically. ``variant`` names answers derived from the file (e.g. augmented).
    """
    order = row_order(len(answers))
    if max_rows is not None:
        order = order[:max_rows]
    folder = feature_dir(data_path, variant)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for k, start in enumerate(range(0, len(order), CHUNK)):
        rows = order[start : start + CHUNK]
        path = folder / f"chunk_{k:04d}_{len(rows)}.npz"
        if path.is_file():
            X = np.load(path)["X"].astype(np.float32)
            if progress is not None:
                progress(len(rows))
        else:
            X = answer_features([answers[i] for i in rows], progress=progress).astype(np.float16)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, X=X)
            X = X.astype(np.float32)  # the same float16-rounded values a later cached run reads
        parts.append(X)
    X = np.concatenate(parts) if parts else np.zeros((0, N_ANSWER), dtype=np.float32)
    return order, X


def frame_subset(df: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Rows of ``df`` at positions ``rows``, in that order, with a fresh index."""
    return df.iloc[rows].reset_index(drop=True)
