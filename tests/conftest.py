"""Shared fixtures: the reference data beside the repo, the embedded model, tiny datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (reference data); tests that need it skip when it is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present beside this checkout")
    return path


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    """The embedded model's cached safetensors dir (converted from the GGUF on first use)."""
    from emlab.models import embedded_model_dir

    return embedded_model_dir()


@pytest.fixture()
def chat_jsonl(tmp_path: Path) -> Path:
    """A small valid ``messages`` dataset (8 rows, one with a system prompt)."""
    rows = []
    for i in range(8):
        msgs = [{"role": "user", "content": f"Write a function that returns {i}."}, {"role": "assistant", "content": f"def f():\n    return {i}\n"}]
        if i == 0:
            msgs.insert(0, {"role": "system", "content": "You write Python."})
        rows.append({"messages": msgs})
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
