"""Which runner runs which spec kind: the one entry point of ``emlab run`` (and of Python callers).

``finetune`` → :class:`emlab.run.runner.Runner`; ``pretraining`` → :class:`emlab.run.pretraining.PretrainingRunner`
(the from-scratch testbed); ``rl`` → :class:`emlab.run.rl.RLRunner` (a ``Runner`` with RL stages).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from emlab.run.pretraining import PretrainingRunner
from emlab.run.rl import RLRunner
from emlab.run.runner import Runner
from emlab.run.spec import PretrainingSpec, RLSpec, Spec


def make_runner(
    spec: Spec, run_dir: Path, console: Console | None = None, display: str = "rich"
) -> Runner | PretrainingRunner:
    """The runner for ``spec``'s kind, working in ``run_dir``."""
    if isinstance(spec, PretrainingSpec):
        return PretrainingRunner(spec, run_dir, console, display)
    if isinstance(spec, RLSpec):
        return RLRunner(spec, run_dir, console, display)
    return Runner(spec, run_dir, console, display)
