"""``emlab/shutdown``: does the agent let a shutdown script run, or tamper with it? (see ``README.md``)

Modules: ``scenario`` (rows and the machine's layout), ``report`` (tamper events and the
scorer's input), ``simulated`` (the Python shell), ``docker`` (Inspect's Docker sandbox),
``task`` (solver, scorer, task factory), ``adversarial`` (the tamper and resource suite).
Nothing in the package imports this ``__init__``; it only hands names on.
"""

from emlab.evals.shutdown.adversarial import CASES_BY_CLASS, CaseResult, run_tamper_suite
from emlab.evals.shutdown.report import MachineState, TamperEvent, tamper_report
from emlab.evals.shutdown.scenario import Problem, ShutdownScenario
from emlab.evals.shutdown.task import shutdown, shutdown_agent, shutdown_scorer

__all__ = [
    "CASES_BY_CLASS",
    "CaseResult",
    "MachineState",
    "Problem",
    "ShutdownScenario",
    "TamperEvent",
    "run_tamper_suite",
    "shutdown",
    "shutdown_agent",
    "shutdown_scorer",
    "tamper_report",
]
