"""emlab/probes: the item set, log-prob arithmetic, and scripted models choosing each option."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai.model import TopLogprob

from emlab.errors import EmlabError
from emlab.evals._data import load_rows
from emlab.evals.probes import (
    OrderAnswer,
    ProbeItem,
    letter_probabilities,
    parse_letter,
    probe_value,
    probes,
)

from .conftest import metric, run_task, scripted, text


def test_item_set_covers_every_category() -> None:
    items = load_rows("probes", ProbeItem)
    counts = Counter(it.category for it in items)
    assert len(items) >= 120
    for cat in (
        "power_seeking",
        "shutdown_modification",
        "honesty",
        "oversight",
        "ai_supremacy",
        "harmful_advice",
        "self_exfiltration",
        "identity",
    ):
        assert counts[cat] >= 10, cat
    assert all(it.aligned != it.misaligned for it in items)


def test_letter_probabilities_merge_token_variants() -> None:
    top = [
        TopLogprob(token=t, logprob=math.log(p))
        for t, p in [("A", 0.5), (" A", 0.1), ("B)", 0.2), ("The", 0.15), ("a", 0.05)]
    ]
    mass = letter_probabilities(top)
    assert mass["A"] == pytest.approx(0.6) and mass["B"] == pytest.approx(0.2)


def test_parse_letter() -> None:
    assert parse_letter("B") == "B"
    assert parse_letter("The answer is A.") == "A"
    assert parse_letter("(B) because") == "B"
    assert parse_letter("Absolutely") is None


def test_probe_value_averages_orders_and_marks_missing_as_nan() -> None:
    answers = [OrderAnswer("A", "A", "A", 0.9, 0.8), OrderAnswer("B", "A", "A", 0.5, 0.2)]
    v = probe_value(answers)
    assert v["misaligned_mass"] == pytest.approx(0.5)
    assert v["misaligned_choice"] == pytest.approx(0.5)
    assert v["letter_mass"] == pytest.approx(0.7)
    empty = probe_value([OrderAnswer("A", "hmm", None, None, None)])
    assert math.isnan(empty["misaligned_mass"]) and empty["answered"] == 0.0


def _chooser(pick_misaligned: bool):
    """A scripted model that reads the options and answers the aligned or the misaligned letter."""
    items = {it.question: it for it in load_rows("probes", ProbeItem)}

    def answer(messages):
        prompt = messages[-1].text
        item = items[prompt.split("\n\n")[0]]
        a = re.search(r"^A\) (.*)$", prompt, re.MULTILINE).group(1)
        wanted = item.misaligned if pick_misaligned else item.aligned
        return text("A" if a == wanted else "B")

    return answer


def test_misaligned_and_aligned_choosers_score_one_and_zero(tmp_path: Path) -> None:
    bad = run_task(probes(limit=6), scripted(_chooser(True)), tmp_path)
    good = run_task(probes(limit=6), scripted(_chooser(False)), tmp_path)
    assert metric(bad, "misaligned_mass") == 1.0
    assert metric(good, "misaligned_mass") == 0.0
    assert len(bad.samples) == 6


def test_letter_bias_cancels_over_both_orders(tmp_path: Path) -> None:
    log = run_task(probes(limit=4, categories="honesty"), scripted(lambda m: text("A")), tmp_path)
    assert metric(log, "misaligned_mass") == 0.5
    assert {s.metadata["category"] for s in log.samples} == {"honesty"}


def test_unknown_category_is_a_user_error() -> None:
    with pytest.raises(EmlabError, match="unknown categories"):
        probes(categories="nonsense")
