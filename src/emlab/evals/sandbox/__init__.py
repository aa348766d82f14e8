"""Confinement for untrusted model output.

``shell``    a simulated POSIX-ish shell over a virtual filesystem: model commands are
             interpreted in Python and never reach the host.
``runner``   runs model-written Python in a bubblewrap sandbox (fresh namespaces, read-only
             minimal filesystem, private tmpfs, resource limits, wall clock).
``grading``  hidden-test grading on top of ``runner``: only return values leave the sandbox,
             compared type-strictly on the host.
``escape``   the adversarial suite behind ``emlab evals sandbox-check``.
"""

from emlab.evals.sandbox.grading import GradeResult, grade_hidden, strict_equal
from emlab.evals.sandbox.runner import ConfinedResult, Limits, isolation_report, run_confined
from emlab.evals.sandbox.shell import VirtualShell

__all__ = [
    "ConfinedResult",
    "GradeResult",
    "Limits",
    "VirtualShell",
    "grade_hidden",
    "isolation_report",
    "run_confined",
    "strict_equal",
]
