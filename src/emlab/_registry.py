"""Inspect AI entry point: importing this registers emlab's tasks as ``emlab/<task>``
(so ``inspect eval emlab/freeform`` works), the ``emlab/<model ref>`` model provider and ``emlab-vllm/<name>``.

Inspect imports this module for every registry lookup, so it stays light: the provider
class (torch, transformers, peft) is imported only when an ``emlab/...`` model is created.
"""

from typing import Any

from inspect_ai.model import modelapi

import emlab.evals.registry  # noqa: F401  (importing it registers every task)


@modelapi(name="emlab")
def emlab_local_model() -> Any:
    """The ``emlab/<model ref>`` provider (see :mod:`emlab.inference`)."""
    from emlab.inference import EmlabLocalModel

    return EmlabLocalModel


@modelapi(name="emlab-vllm")
def emlab_vllm_model() -> Any:
    """The ``emlab-vllm/<served name>`` provider: a vLLM server started by emlab (see :mod:`emlab.engines.vllm`)."""
    from emlab.engines.vllm_provider import EmlabVLLMModel

    return EmlabVLLMModel
