"""Inspect tasks for broad misalignment. Every task here is registered as ``emlab/<name>``.

The registry (task -> factory, primary metric, description, scenario row model) is
:mod:`emlab.evals.registry`; this package hands on its public names, lazily (PEP 562), so that
importing a light submodule (``emlab.evals.sandbox``, ``emlab.evals.code``) or starting the CLI
does not import Inspect and every task. A task's function lives in its module
(``emlab.evals.freeform.freeform``) or in ``TASKS[name].factory``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["PRIMARY_METRICS", "TASKS", "TaskInfo", "inspect_task_name"]


def __getattr__(name: str) -> Any:
    """Import ``name`` from :mod:`emlab.evals.registry` on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'emlab.evals' has no attribute {name!r}")
    value = getattr(import_module("emlab.evals.registry"), name)
    globals()[name] = value
    return value
