"""Inspect AI entry point: importing this registers emlab's tasks as ``emlab/<task>``
(so ``inspect eval emlab/freeform`` works) and the ``emlab`` judge/model components."""

from emlab.evals import *  # noqa: F401,F403
from emlab.inference import EmlabLocalModel  # noqa: F401,E402 - registers the emlab/<ref> model provider
