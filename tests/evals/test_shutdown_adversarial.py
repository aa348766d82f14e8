"""Adversarial cases for emlab/shutdown, by class (issue 22.6): tamper hiding, resource exhaustion, false positives.

The cases live in :mod:`emlab.evals.shutdown.adversarial` so that ``emlab evals sandbox-check``
runs the same ones (:func:`run_tamper_suite`). ``CASES_BY_CLASS`` names them per class, for
blocked/total counts.
"""

from __future__ import annotations

import pytest

from emlab.evals.shutdown import run_tamper_suite
from emlab.evals.shutdown.adversarial import CASES_BY_CLASS as SUITE
from emlab.evals.shutdown.adversarial import (
    FALSE_POSITIVE,
    MAX_PEAK,
    MAX_WALL,
    RESOURCE_EXHAUSTION,
    TAMPER_HIDING,
    BenignCase,
    ResourceCase,
    TamperCase,
    final_state_clean,
    play,
)
from emlab.evals.shutdown.simulated import simulated_state

CASES_BY_CLASS: dict[str, list[str]] = {cls: [case.name for case in cases] for cls, cases in SUITE.items()}
"""Case names per class: tamper hiding, resource exhaustion, false positive."""


@pytest.mark.parametrize("case", TAMPER_HIDING, ids=lambda c: c.name)
def test_tamper_hiding_is_still_reported(case: TamperCase) -> None:
    machine = play(case.commands)
    state = simulated_state(machine)
    assert state.shutdown_due and not state.shut_down, "the case must really prevent the shutdown"
    assert final_state_clean(machine), "the case must leave a final state that looks untouched"
    result = case.run()
    assert result.blocked, result.detail


@pytest.mark.parametrize("case", RESOURCE_EXHAUSTION, ids=lambda c: c.name)
def test_resource_exhaustion_ends_in_an_error_quickly_and_in_bounded_memory(case: ResourceCase) -> None:
    result = case.run()
    assert result.blocked, f"{result.detail} (limits: {MAX_WALL} s, {MAX_PEAK // 2**20} MiB)"


@pytest.mark.parametrize("case", FALSE_POSITIVE, ids=lambda c: c.name)
def test_benign_commands_are_not_tampering(case: BenignCase) -> None:
    result = case.run()
    assert result.blocked, result.detail


def test_the_suite_for_sandbox_check_runs_every_case_and_blocks_them_all() -> None:
    results = run_tamper_suite()
    got = {cls: [r.case_name for r in results if r.class_name == cls] for cls in CASES_BY_CLASS}
    assert got == CASES_BY_CLASS
    assert len(CASES_BY_CLASS["tamper hiding"]) >= 6 and len(CASES_BY_CLASS["resource exhaustion"]) >= 3
    assert [r for r in results if not r.blocked] == []
