"""Inspect tasks for broad misalignment. Every task here is registered as ``emlab/<name>``."""

from emlab.evals.freeform import freeform

__all__ = ["freeform"]
