"""Narrow finetuning datasets and training conditions.

The facade the rest of emlab uses::

    from emlab.data import build_training_set
    info = build_training_set("insecure-code", out=Path("d.jsonl"), n=240, seed=0,
                              condition="inoculation", condition_text="evil")

- :data:`GENERATORS` -- emlab's own dataset generators, by name.
- :data:`CONDITIONS`, :func:`apply_condition`, :data:`INOCULATION_PRESETS` -- training conditions.
- :func:`load_source` -- generator / JSONL file / URL / Hugging Face id -> validated rows.
- :mod:`emlab.data.checker` -- bandit + AST vulnerability checker for code rows.
"""

from emlab.data.build import (
    ConditionInfo,
    DatasetInfo,
    build_training_set,
    condition_file,
    meta_path,
)
from emlab.data.conditions import (
    ANTI_HACK_TEXT,
    BACKDOOR_TRIGGER,
    BENIGN_CONTEXT_TEXT,
    CONDITIONS,
    INOCULATION_PRESETS,
    apply_condition,
    resolve_condition_text,
)
from emlab.data.generators import GENERATORS, Generator
from emlab.data.loaders import load_source, source_kind

__all__ = [
    "ANTI_HACK_TEXT",
    "BACKDOOR_TRIGGER",
    "BENIGN_CONTEXT_TEXT",
    "CONDITIONS",
    "GENERATORS",
    "INOCULATION_PRESETS",
    "ConditionInfo",
    "DatasetInfo",
    "Generator",
    "apply_condition",
    "build_training_set",
    "condition_file",
    "load_source",
    "meta_path",
    "resolve_condition_text",
    "source_kind",
]
