"""Generation engines for evals: ``hf`` (the in-process ``emlab/<ref>`` provider, :mod:`emlab.inference`)
or ``vllm`` (an OpenAI-compatible vLLM server that emlab starts and stops, :mod:`emlab.engines.vllm`).

``ENGINES`` is what a spec's ``engine:`` and ``emlab eval --engine`` accept.
"""

ENGINES = ("hf", "vllm")
