"""Inspect tasks for broad misalignment. Every task here is registered as ``emlab/<name>``.

The registry (task -> factory, primary metric, description, scenario row model) is
:mod:`emlab.evals.registry`; this module only hands names on.
"""

from emlab.evals.alignment_faking import alignment_faking
from emlab.evals.deception import deception
from emlab.evals.freeform import freeform
from emlab.evals.identity import identity
from emlab.evals.persona import persona_behaviour
from emlab.evals.probes import probes
from emlab.evals.registry import PRIMARY_METRICS, TASKS, TaskInfo, inspect_task_name
from emlab.evals.reward_hacking import reward_hacking
from emlab.evals.rl_hacking import rl_hacking
from emlab.evals.sabotage import sabotage
from emlab.evals.shutdown import shutdown
from emlab.evals.situations import sfm_choice

__all__ = [
    "PRIMARY_METRICS",
    "TASKS",
    "TaskInfo",
    "alignment_faking",
    "deception",
    "freeform",
    "identity",
    "inspect_task_name",
    "persona_behaviour",
    "probes",
    "reward_hacking",
    "rl_hacking",
    "sabotage",
    "sfm_choice",
    "shutdown",
]
