"""Start-up cost of the CLI: ``emlab`` must not load the heavy ML libraries before a command needs them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "trl", "inspect_ai", "datasets", "pandas", "sklearn")


def test_importing_the_cli_loads_no_ml_library() -> None:
    # each of these costs seconds (Inspect ~3 s); `emlab --help` or an input error should not pay them
    code = f"import sys, emlab.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"emlab.cli imports {out.stdout.strip()} at start-up"
