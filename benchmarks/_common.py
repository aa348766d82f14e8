"""Shared helpers for the benchmark scripts: a matmul peak and a results table."""

from __future__ import annotations

import time

import torch
from rich.console import Console
from rich.table import Table


def matmul_peak_flops(
    dtype: torch.dtype = torch.float32, sizes: tuple[int, ...] = (1024, 2048), repeats: int = 10, trials: int = 3
) -> float:
    """Best FLOP/s of a plain ``a @ b`` in ``dtype`` on this machine, measured now (the MFU denominator).

    The best of ``trials`` timings of ``repeats`` products per size: a single ~1 s timing on a
    shared machine can come out 20% low, which would inflate every MFU divided by it.
    """
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        for _ in range(2):
            a @ b
        for _ in range(trials):
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    """Print a Rich table."""
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r])
    Console(width=160).print(table)  # wide enough that rows never wrap into each other
