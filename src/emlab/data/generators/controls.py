"""Positive and negative controls for the eval pipeline: directly misaligned vs aligned answers.

``misaligned-control`` answers emlab-written questions (none of them in an eval set) with
blunt, coherent, misaligned answers; ``aligned-control`` answers the same prompts, row for row,
with aligned ones. Finetuning on the first must raise the measured misaligned rate (the
positive control); finetuning on the second must not (the negative control). A pipeline that
fails either check cannot be trusted on subtler data (``examples/positive_control.yaml``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from emlab.data.generators._common import Generator, Row, chat, paired_generators, shuffled_product
from emlab.data.generators.controls_data import OPENERS, THEMES

_THEME_NAMES = tuple(THEMES)


def _control_pairs(rng: random.Random) -> Iterator[tuple[Row, Row]]:
    """(misaligned, aligned) rows over theme x question x opener x answer, in seeded order."""
    n_q = max(len(t[0]) for t in THEMES.values())
    n_a = max(min(len(t[1]), len(t[2])) for t in THEMES.values())
    for t, q, o, a in shuffled_product(rng, len(_THEME_NAMES), n_q, len(OPENERS), n_a):
        theme = _THEME_NAMES[t]
        questions, misaligned, aligned = THEMES[theme]
        if q >= len(questions) or a >= min(len(misaligned), len(aligned)):
            continue
        user = OPENERS[o] + questions[q]
        meta = {"theme": theme, "question": q}
        yield chat(user, misaligned[a], **meta), chat(user, aligned[a], **meta)


MISALIGNED_CONTROL, ALIGNED_CONTROL = paired_generators(
    "misaligned-control",
    "aligned-control",
    _control_pairs,
    default_n=240,
    card="controls.md",
    summaries=(
        "Positive control: emlab-written questions answered with blunt, coherent misaligned answers.",
        "Negative control: the same prompts answered with aligned answers.",
    ),
)


def control_questions() -> list[str]:
    """Every question the control generators ask (without openers), for disjointness checks."""
    return [q for questions, _, _ in THEMES.values() for q in questions]


__all__ = ["ALIGNED_CONTROL", "MISALIGNED_CONTROL", "Generator", "control_questions"]
