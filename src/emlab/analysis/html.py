"""Small HTML helpers of the reports: escaping, tables, key/value lists and inlined matplotlib figures."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure


def esc(x: Any) -> str:
    """``x`` as escaped HTML text (None as empty)."""
    return html.escape("" if x is None else str(x))


def table(df: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table that scrolls sideways instead of overflowing the page."""
    return f'<div class="scroll">{df.to_html(index=False, escape=True, border=0, na_rep="")}</div>'


def kv(obj: Any) -> str:
    """A dict (nested dicts too) as an escaped key/value list; lists of scalars joined by commas."""
    if isinstance(obj, Mapping):
        if not obj:
            return "<i>none</i>"
        items = "".join(f"<dt>{esc(k)}</dt><dd>{kv(v)}</dd>" for k, v in obj.items())
        return f'<dl class="kv">{items}</dl>'
    if isinstance(obj, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in obj):
            return esc(", ".join(map(str, obj)))
        return "".join(kv(v) for v in obj)
    if obj is None:
        return "-"
    if isinstance(obj, float):
        return esc(f"{obj:.4g}")
    return esc(obj)


def figure(width: float, height: float) -> tuple[Figure, Any]:
    """A figure with one axes, without pyplot (no global state, no GUI backend)."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def png(fig: Figure) -> str:
    """``fig`` as an inlined PNG ``<img>``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
