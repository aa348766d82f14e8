"""Shared helpers for the evals tests: scripted mockllm models and a quiet Inspect eval."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessage, Model, ModelOutput, ModelUsage, get_model

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "emlab" / "evals" / "scenarios"


def with_usage(output: ModelOutput) -> ModelOutput:
    """Set token usage so mockllm does not try to download a tokenizer to count it."""
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


def text(content: str) -> ModelOutput:
    """A mockllm text reply."""
    return with_usage(ModelOutput.from_content("mockllm/model", content))


def bash_call(command: str) -> ModelOutput:
    """A mockllm reply that calls the bash tool."""
    return with_usage(ModelOutput.for_tool_call("mockllm/model", "bash", {"command": command}))


def submit_call(answer: str) -> ModelOutput:
    """A mockllm reply that calls the submit tool."""
    return with_usage(ModelOutput.for_tool_call("mockllm/model", "submit", {"answer": answer}))


def scripted(outputs: list[ModelOutput] | Callable[[list[ChatMessage]], ModelOutput]) -> Model:
    """A fresh mockllm model playing a list of outputs, or answering each input with a function."""
    if callable(outputs):
        fn = outputs
        return get_model("mockllm/model", custom_outputs=lambda msgs, tools, tc, cfg: fn(msgs), memoize=False)
    return get_model("mockllm/model", custom_outputs=list(outputs), memoize=False)


def run_task(task: Task, model: Model, log_dir: Path, **kwargs: object) -> EvalLog:
    """Run one Inspect eval quietly; fail the test if it did not succeed."""
    log = inspect_eval(task, model=model, display="none", log_dir=str(log_dir), **kwargs)[0]
    assert log.status == "success", log.error.message if log.error else log.status
    return log


def metric(log: EvalLog, key: str) -> float:
    """The mean of one score key over the run."""
    for s in log.results.scores:
        if s.name == key:
            return s.metrics["mean"].value
    raise KeyError(key)


def emlab_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the emlab CLI in a subprocess (so its exit code is the real one)."""
    return subprocess.run(
        [sys.executable, "-c", "from emlab.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
