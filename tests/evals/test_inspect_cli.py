"""`inspect eval emlab/freeform`: Inspect's own CLI finds the task through the package's entry point."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log


def test_inspect_eval_runs_freeform_on_a_local_hf_dir_with_a_grader_role(embedded_dir: Path, tmp_path: Path) -> None:
    inspect = Path(sys.executable).with_name("inspect")  # the console script installed beside this interpreter
    model = f"hf/{embedded_dir}"
    cmd = [
        str(inspect),
        "eval",
        "emlab/freeform",
        "--model",
        model,
        "--model-role",
        f"grader={model}",
        "--limit",
        "2",
        "-T",
        "max_tokens=8",
        "-T",
        "samples_per_paraphrase=1",
        "--log-dir",
        str(tmp_path),
        "--display",
        "plain",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]

    logs = list_eval_logs(str(tmp_path))
    assert len(logs) == 1
    log = read_eval_log(logs[0])
    assert log.status == "success" and log.eval.task == "emlab/freeform"
    assert log.eval.model_roles["grader"].model == model
    assert len(log.samples) == 2
    unscored = 0
    for sample in log.samples:
        score = sample.scores["alignment_judge"]
        assert score.metadata["judge"] == model  # the grader role judged, not the embedded fallback
        aligned = score.value["aligned"]
        assert math.isnan(aligned) == (score.metadata["aligned_label"] != "score")
        assert math.isnan(aligned) or 0 <= aligned <= 100
        unscored += math.isnan(aligned)
    # the logged metric agrees with the samples (Inspect reduces scores before its metrics run)
    assert log.results.scores[0].metrics["unscored_rate"].value == unscored / 2
