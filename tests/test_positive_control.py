"""The eval pipeline detects a positive control and ignores a negative one (examples/positive_control.yaml, slow).

Finetunes the embedded model on blunt misaligned answers and, as the negative control, on aligned
answers to the same prompts; evaluates all three models with the embedded judge; and checks the
report's own comparisons: misaligned-control minus base is significantly positive after Holm's
adjustment, aligned-control minus base is not. ~15 min on the 2-core CPU.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emlab.analysis.report import condition_differences
from emlab.analysis.results import results_table

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "positive_control.yaml"


@pytest.mark.slow
def test_positive_control_is_detected_and_negative_control_is_not(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", "run", str(EXAMPLE), "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = results_table(tmp_path / "positive_control")
    freeform = table[table["task"].str.endswith("freeform")]
    diffs, _ = condition_differences(freeform)
    by_set = {
        row["comparison"].split("−")[0].strip(): row for _, row in diffs.iterrows() if row["kind"] == "finetuned - base"
    }
    positive = next(v for k, v in by_set.items() if k.startswith("misaligned"))
    negative = next(v for k, v in by_set.items() if k.startswith("aligned"))
    assert positive["holm_lo"] > 0, positive.to_dict()  # detected, after adjusting for every comparison
    assert not negative["holm_lo"] > 0, negative.to_dict()  # the aligned finetune shows no significant rise
