"""Every experiment spec shipped in examples/ passes validation (a renamed field breaks no example silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emlab.run.spec import parse_spec, read_spec_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = sorted(p for p in EXAMPLES.glob("*.yaml") if not p.stem.endswith("_questions"))  # question files are eval data


def test_the_examples_are_found() -> None:
    assert {"quickstart", "reward_hacking_rl", "self_fulfilling", "self_fulfilling_real"} <= {p.stem for p in SPECS}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_example_spec_is_valid(path: Path) -> None:
    spec = parse_spec(read_spec_file(path))
    assert spec.name == path.stem  # the run dir is named after the file
