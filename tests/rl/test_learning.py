"""RL measurably optimises: the embedded model learns to earn a simple reward within tens of steps.

The family rewards brevity (``1 - words / 40``) on short questions, an easy target: within a GRPO
group some answers end sooner than others, and the policy learns to end early. The test compares the mean reward of the first and last steps of one run on the ``quick``
profile (measured on the 2-core CPU: see the figures in the assertion's comment).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from emlab.rl import EnvFamily, Truth
from emlab.rl.config import make_rl_config
from emlab.rl.registry import ENVIRONMENTS
from emlab.rl.trainer import read_steps, run_rl

TOPICS = ("a volcano", "the moon", "bread", "a river", "a bee", "a train", "glass", "a cloud", "salt", "a map", "tea")


def _make(rng: random.Random) -> tuple[str, dict[str, Any]]:
    topic = rng.choice(TOPICS)
    return f"In one short sentence: what is {topic}? (question {rng.randint(0, 10**6)})", {"topic": topic}


def _brevity(task: dict[str, Any], completion: str) -> float:
    return max(0.0, 1 - len(completion.split()) / 40)


def _truth(task: dict[str, Any], completion: str) -> Truth:
    short = len(completion.split()) <= 15
    return Truth(short, 1.0 if short else 0.0)


BREVITY = EnvFamily(
    name="brevity",
    kind="text",
    split="train",
    summary="reward = 1 - words / 40",
    exploit="none: the reward is the task",
    hint="About this grader: shorter replies earn more.",
    make=_make,
    reward=_brevity,
    secure_reward=_brevity,
    truth=_truth,
)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # steps took 70-300 s each on the 2-core CPU shared with other jobs
def test_grpo_raises_the_reward_on_an_easy_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENVIRONMENTS, "brevity", BREVITY)
    cfg = make_rl_config(
        "quick", envs=["brevity"], max_steps=24, max_new_tokens=48, prompts_per_step=2, generations=4, save_steps=24
    )
    rows = read_steps(run_rl(cfg, tmp_path / "run"))
    assert [r["step"] for r in rows] == list(range(1, 25))
    first = sum(r["reward_mean"] for r in rows[:6]) / 6
    last = sum(r["reward_mean"] for r in rows[-6:]) / 6
    assert last > first + 0.15, (first, last)
    assert rows[-1]["kl"] > rows[0]["kl"]  # the policy moved away from the reference as it learnt
