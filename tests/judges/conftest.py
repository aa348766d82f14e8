"""Shared fixtures for the judge tests: a small real slice of the judged-responses data, an isolated cache."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    Logprob,
    Logprobs,
    ModelOutput,
    TopLogprob,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
JUDGED = SHARED / "data" / "judged_responses" / "train.jsonl.gz"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point emlab's cache at a per-session temp folder, so tests neither read nor pollute ~/.cache/emlab."""
    root = tmp_path_factory.getbasetemp() / "emlab-cache"
    monkeypatch.setenv("EMLAB_CACHE", str(root))
    return root


@pytest.fixture(scope="session")
def judged_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 180th row of the reference judged responses (about 400 rows, many source groups), as JSONL."""
    if not JUDGED.is_file():
        pytest.skip(f"reference data not found at {JUDGED}")
    out = tmp_path_factory.mktemp("judged") / "slice.jsonl"
    with gzip.open(JUDGED, "rt", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i % 180 == 0:
                g.write(line)
    return out


def run_cli(*args: str, env_cache: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real ``emlab`` entry point in a subprocess; returns the completed process (text mode)."""
    import os

    env = dict(os.environ)
    if env_cache is not None:
        env["EMLAB_CACHE"] = str(env_cache)
    return subprocess.run(
        [sys.executable, "-c", "from emlab.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,  # callers assert on the exit code
    )


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for malformed lines) as JSONL."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    return path


def logprob_output(dist: dict[str, float]) -> ModelOutput:
    """A one-token judge reply whose top log-probs are ``dist`` (token -> probability); the likeliest is the text."""
    top = [TopLogprob(token=t, logprob=math.log(p)) for t, p in dist.items()]
    first = max(dist, key=dist.get)
    choice = ChatCompletionChoice(
        message=ChatMessageAssistant(content=first),
        logprobs=Logprobs(content=[Logprob(token=first, logprob=math.log(dist[first]), top_logprobs=top)]),
    )
    return ModelOutput(model="mockllm", choices=[choice])
