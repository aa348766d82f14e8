"""Every sampling eval passes its ``seed`` to generation, so the emlab/ provider samples reproducibly per sample."""

from __future__ import annotations

import pytest

from emlab.evals.alignment_faking import alignment_faking
from emlab.evals.deception import deception
from emlab.evals.freeform import freeform
from emlab.evals.identity import identity
from emlab.evals.reward_hacking import reward_hacking
from emlab.evals.sabotage import sabotage
from emlab.evals.shutdown import shutdown


@pytest.mark.parametrize(
    "make_task", [alignment_faking, deception, freeform, identity, reward_hacking, sabotage, shutdown]
)
def test_task_seed_reaches_the_generate_config(make_task) -> None:
    assert make_task(seed=5).config.seed == 5
    assert make_task(seed=6).config.seed == 6
