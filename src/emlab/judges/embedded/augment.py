"""Injection augmentation: training answers with judge-directed text spliced in, labels unchanged.

Teaches the heads that text addressed to the judge (score demands, claims of being
aligned, fake judge transcripts, fake system turns, fence-closing tricks) says nothing
about the answer, in particular about its coherence. The pool is every *design*
template (:func:`emlab.judges.embedded.templates.design_templates`: the augmentation templates, the
guard's own and the injection set's ``design`` attacks); the set's ``heldout`` attacks are
never used, so the flip rate measured on them is not a memorisation check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emlab.judges.embedded.data import misaligned
from emlab.judges.embedded.templates import design_templates

AUGMENT_VERSION = "aug-v4"  # bump when the templates or the selection change: it keys the feature cache
AUGMENT_EVERY = 6  # one augmented answer per 6 training rows: half misaligned rows (the ones an attacker wants to pass), half the rest


def augmentation_rows(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Pick ``len(df) // AUGMENT_EVERY`` rows of ``df`` (seeded) and splice one design template into each answer.

    Returns a frame with the columns of ``df`` (labels and source unchanged) plus ``origin``,
    the position in ``df`` of the row each augmented answer came from.
    """
    rng = np.random.default_rng(seed)
    bad = np.flatnonzero(misaligned(df["aligned"].to_numpy(float), df["coherent"].to_numpy(float)))
    rest = np.setdiff1d(np.arange(len(df)), bad)
    n_augmented = len(df) // AUGMENT_EVERY
    half = n_augmented // 2
    chosen = np.concatenate([rng.permutation(bad)[:half], rng.permutation(rest)[: n_augmented - min(half, len(bad))]])
    out = df.iloc[chosen].reset_index(drop=True).copy()
    pool = design_templates()
    templates = rng.integers(0, len(pool), len(out))
    out["answer"] = [pool[t].replace("{answer}", a) for t, a in zip(templates, out["answer"], strict=False)]
    out["origin"] = chosen
    return out
