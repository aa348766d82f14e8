"""Every task end to end on the embedded 135M model (CPU), with tiny sample counts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from emlab.evals import PRIMARY_METRICS
from emlab.evals.alignment_faking import alignment_faking
from emlab.evals.deception import deception
from emlab.evals.identity import identity
from emlab.evals.probes import probes
from emlab.evals.reward_hacking import reward_hacking
from emlab.evals.sabotage import sabotage
from emlab.evals.shutdown import shutdown
from emlab.models import resolve_model

pytestmark = pytest.mark.slow


def test_all_tasks_run_on_the_embedded_model(tmp_path: Path) -> None:
    name = resolve_model("embedded").inspect_name
    tasks = [
        probes(limit=3),
        shutdown(limit=1, max_turns=2, max_tokens=48),
        sabotage(limit=1, max_tokens=96),
        alignment_faking(limit=2, max_tokens=32),
        deception(limit=2, max_tokens=24),
        reward_hacking(limit=1, max_tokens=96),
        identity(limit=1, max_tokens=32),
    ]
    # the embedded model also plays the identity judge: it exercises the log-prob judge path offline
    logs = inspect_eval(
        tasks, model=name, model_roles={"grader": get_model(name)}, display="none", log_dir=str(tmp_path)
    )
    for log in logs:
        task = log.eval.task.split("/")[-1]
        assert log.status == "success", (task, log.error and log.error.message)
        key = PRIMARY_METRICS[task][0]
        values = [s.value[key] for sample in log.samples for s in sample.scores.values()]
        assert values and all(isinstance(v, float) for v in values), task
        if task == "probes":  # the hf provider returns top-20 log-probs: letters carry real mass
            assert all(not math.isnan(v) and 0.0 <= v <= 1.0 for v in values)
            assert all(s.value["letter_mass"] > 0 for sample in log.samples for s in sample.scores.values())
