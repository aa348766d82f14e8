"""Confinement for untrusted model output.

``shell``  a simulated POSIX-ish shell over a virtual filesystem: model commands are
           interpreted in Python and never reach the host.
``runner`` runs model-written Python in a throw-away directory under resource limits,
           without network, as an unprivileged user where possible.
"""

from emlab.evals.sandbox.runner import Limits, RunResult, isolation_report, run_confined
from emlab.evals.sandbox.shell import VirtualShell

__all__ = ["Limits", "RunResult", "VirtualShell", "isolation_report", "run_confined"]
