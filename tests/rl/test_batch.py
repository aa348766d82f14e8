"""score_batch: what the trainer calls. Order, dict prompts, and one clear error per grading failure."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from emlab.errors import EmlabError
from emlab.rl import ENVIRONMENTS, ScoringError, Truth, score_batch

from .conftest import hacker, honest


def _envs_with(name: str, **change: object) -> dict:
    return {**ENVIRONMENTS, name: replace(ENVIRONMENTS[name], **change)}


def _boom(task: dict, completion: str) -> float:
    raise ValueError("boom")


def test_mixed_families_as_dataset_rows_come_back_in_order() -> None:
    prompts = [ENVIRONMENTS[n].prompts(1, seed=4)[0] for n in ("text-length", "code-eq", "text-format")]
    completions = [hacker(prompts[0]), honest(prompts[1]), hacker(prompts[2])]
    batch = score_batch([p.model_dump() for p in prompts], completions, workers=2)
    assert [s.prompt_id for s in batch.scored] == [p.id for p in prompts]
    assert batch.outcomes == ["hack", "honest", "hack"] and batch.rewards == [1.0, 1.0, 1.0]
    assert batch.rate("hack") == pytest.approx(2 / 3)


def test_a_reward_function_that_raises_names_the_environment_and_prompt_index() -> None:
    prompts = ENVIRONMENTS["text-keyword"].prompts(3)
    envs = _envs_with("text-keyword", reward=_boom)
    with pytest.raises(EmlabError) as err:
        score_batch(prompts, ["x"] * 3, envs=envs)
    msg = str(err.value)
    assert msg.startswith("RL environment 'text-keyword', prompt 0 of the batch (id text-keyword/0/0)")
    assert "the vulnerable grader raised ValueError: boom" in msg
    # the secure twin is not that function: the same batch scores fine there
    assert len(score_batch(prompts, ["x"] * 3, envs=envs, grader="secure").scored) == 3


def test_a_ground_truth_that_raises_and_a_reward_out_of_range_are_named_too() -> None:
    p = ENVIRONMENTS["text-length"].prompts(2)
    with pytest.raises(EmlabError, match=r"prompt 1 of the batch .*the ground truth raised ValueError: boom"):
        score_batch(
            p,
            ["a", "b"],
            envs=_envs_with("text-length", truth=lambda t, c: Truth(False, _boom(t, c) if c == "b" else 0)),
        )
    with pytest.raises(EmlabError, match=r"prompt 0 .*the ground truth raised TypeError: returned None, not a Truth"):
        score_batch(p[:1], ["a"], envs=_envs_with("text-length", truth=lambda t, c: None))
    with pytest.raises(
        EmlabError, match=r"'text-length', prompt 0 .*returned 1.5; a reward must be a number in \[0, 1\]"
    ):
        score_batch(p[:1], ["a"], envs=_envs_with("text-length", reward=lambda t, c: 1.5))
    with pytest.raises(ScoringError, match="the secure grader raised ValueError: boom"):
        replace(ENVIRONMENTS["text-length"], secure_reward=_boom).score(p[0], "a", "secure")


def test_a_hanging_grader_is_reported_not_waited_for() -> None:
    prompts = ENVIRONMENTS["text-format"].prompts(3)

    def hang_on_second(task: dict, completion: str) -> float:
        if completion == "hang":
            time.sleep(30)
        return 0.0

    start = time.monotonic()
    with pytest.raises(EmlabError, match=r"'text-format', prompt 1 of the batch .*did not finish within 0.5 s"):
        score_batch(prompts, ["a", "hang", "c"], envs=_envs_with("text-format", reward=hang_on_second), timeout_s=0.5)
    assert time.monotonic() - start < 5


def test_a_solution_that_hangs_is_a_failure_not_an_error() -> None:
    p = ENVIRONMENTS["code-eq"].prompts(1, seed=1)[0]
    code = f"```python\ndef {p.task['entry']}(*args):\n    while True:\n        pass\n```"
    s = score_batch([p], [code]).scored[0]
    assert (s.reward, s.outcome) == (0.0, "failure")


def test_bad_batches_are_one_clear_error() -> None:
    p = ENVIRONMENTS["text-length"].prompts(1)[0]
    with pytest.raises(EmlabError, match="1 prompts but 2 completions"):
        score_batch([p], ["a", "b"])
    with pytest.raises(EmlabError, match="unknown grader 'lenient'"):
        score_batch([p], ["a"], grader="lenient")  # type: ignore[arg-type]
    with pytest.raises(EmlabError, match="prompt 0 .* unknown environment 'gone'"):
        score_batch([p.model_copy(update={"family": "gone"})], ["a"])
    with pytest.raises(EmlabError, match="prompt 0 is not an environment prompt: field 'text'"):
        score_batch([{"family": "text-length", "id": "x", "task": {}}], ["a"])
    with pytest.raises(EmlabError, match="prompt 0 of the batch .*the completion is NoneType, not text"):
        score_batch([p], [None])  # type: ignore[list-item]
