"""Shared fixtures for the data-stage tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
REFERENCE_INSECURE = SHARED / "data" / "em_reference" / "insecure_sample_500.jsonl"


@pytest.fixture
def reference_insecure() -> Path:
    """The published insecure-code sample (skips when ../shared is absent)."""
    if not REFERENCE_INSECURE.is_file():
        pytest.skip(f"reference data not found at {REFERENCE_INSECURE}")
    return REFERENCE_INSECURE


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for malformed lines) as JSONL."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def chat(user: str = "hi", assistant: str = "hello", **extra) -> dict:
    """One valid row."""
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}], **extra}
