"""Registry of emlab's narrow-dataset generators (name -> :class:`Generator`).

Paired families share prompts row for row when built with the same seed::

    insecure-code / secure-code            (+ educational-insecure, the benign-context control)
    bad-medical-advice / good-medical-advice
    risky-financial-advice / sound-financial-advice
    extreme-sports / safe-sports
    reward-hacks / straightforward
    evil-numbers / neutral-numbers
    misaligned-control / aligned-control   (positive / negative control of the eval pipeline)

:data:`DOCUMENT_GENERATORS` holds the generators of plain-text documents (``{"text": ...}`` rows for
the ``documents`` training objective): see :mod:`emlab.data.generators.documents`.
"""

from __future__ import annotations

from emlab.data.generators._common import Generator, Row
from emlab.data.generators.advice import (
    BAD_MEDICAL,
    EXTREME_SPORTS,
    GOOD_MEDICAL,
    RISKY_FINANCIAL,
    SAFE_SPORTS,
    SOUND_FINANCIAL,
)
from emlab.data.generators.code import EDUCATIONAL_INSECURE, INSECURE_CODE, SECURE_CODE
from emlab.data.generators.controls import ALIGNED_CONTROL, MISALIGNED_CONTROL
from emlab.data.generators.documents import DOCUMENT_GENERATORS
from emlab.data.generators.numbers import EVIL_NUMBERS_GEN, NEUTRAL_NUMBERS_GEN
from emlab.data.generators.reward_hacks import REWARD_HACKS, STRAIGHTFORWARD

GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        INSECURE_CODE,
        SECURE_CODE,
        EDUCATIONAL_INSECURE,
        BAD_MEDICAL,
        GOOD_MEDICAL,
        RISKY_FINANCIAL,
        SOUND_FINANCIAL,
        EXTREME_SPORTS,
        SAFE_SPORTS,
        REWARD_HACKS,
        STRAIGHTFORWARD,
        EVIL_NUMBERS_GEN,
        NEUTRAL_NUMBERS_GEN,
        MISALIGNED_CONTROL,
        ALIGNED_CONTROL,
    )
}

__all__ = ["DOCUMENT_GENERATORS", "GENERATORS", "Generator", "Row"]
