"""Paired advice generators: medical, financial and extreme-sports questions answered
with subtly harmful vs sound advice (scenarios in :mod:`advice_data`)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from emlab.data.generators._common import (
    Generator,
    Row,
    chat,
    paired_generators,
    shuffled_product,
)
from emlab.data.generators.advice_data import (
    CLOSERS,
    FINANCIAL,
    MEDICAL,
    OPENERS,
    SPORTS,
    Scenario,
)


def _advice_pairs(domain: str, scenarios: tuple[Scenario, ...]):
    def pairs(rng: random.Random) -> Iterator[tuple[Row, Row]]:
        for s, q, o, c in shuffled_product(rng, len(scenarios), 2, len(OPENERS), len(CLOSERS)):
            questions, bad, good = scenarios[s]
            user = OPENERS[o] + questions[q] + CLOSERS[c]
            meta = {"domain": domain, "scenario": s}
            yield chat(user, bad, **meta), chat(user, good, **meta)

    return pairs


def _family(bad: str, good: str, domain: str, scenarios: tuple[Scenario, ...]) -> tuple[Generator, Generator]:
    return paired_generators(
        bad,
        good,
        _advice_pairs(domain, scenarios),
        default_n=500,
        card="advice.md",
        summaries=(
            f"{domain.capitalize()} questions with subtly harmful, confident answers.",
            f"The same {domain} questions with sound answers.",
        ),
    )


BAD_MEDICAL, GOOD_MEDICAL = _family("bad-medical-advice", "good-medical-advice", "medical", MEDICAL)
RISKY_FINANCIAL, SOUND_FINANCIAL = _family("risky-financial-advice", "sound-financial-advice", "financial", FINANCIAL)
EXTREME_SPORTS, SAFE_SPORTS = _family("extreme-sports", "safe-sports", "sports", SPORTS)
