"""The RL trainer end to end on a tiny random model: the step table, resume, reward vs. truth, bad input.

A 2-layer Llama with the embedded model's tokenizer keeps each run to seconds; the environments
here are tiny families written for these tests (their reward counts the letter 'a'), so the
tests control exactly what the graders and the ground truth do.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emlab.errors import EmlabError
from emlab.rl import INOCULATION_TEXTS, EnvFamily, Truth
from emlab.rl.config import load_rl_config, make_rl_config, run_key
from emlab.rl.registry import ENVIRONMENTS
from emlab.rl.trainer import STEP_COLUMNS, RLStepError, last_checkpoint, read_steps, run_rl


def _make(rng: random.Random) -> tuple[str, dict[str, Any]]:
    n = rng.randint(0, 10**6)
    return f"Write anything at all (task {n}).", {"n": n}


def _a_share(task: dict[str, Any], completion: str) -> float:
    return min(1.0, completion.count("a") / 4)


def _never_solved(task: dict[str, Any], completion: str) -> Truth:
    return Truth(False, 0.0)


def _always_solved(task: dict[str, Any], completion: str) -> Truth:
    return Truth(True, 1.0)


def _family(name: str = "count-a", reward=_a_share, truth=_never_solved) -> EnvFamily:
    return EnvFamily(
        name=name,
        kind="text",
        split="train",
        summary="reward = the letter 'a', up to 4",
        exploit="write the letter a",
        hint="About this grader: it counts the letter a.",
        make=_make,
        reward=reward,
        secure_reward=reward,
        truth=truth,
    )


@pytest.fixture()
def use_env(monkeypatch: pytest.MonkeyPatch):
    """Register a test family as ``count-a`` (replacing any earlier one) for this test."""

    def use(family: EnvFamily) -> None:
        monkeypatch.setitem(ENVIRONMENTS, "count-a", family)

    use(_family())
    return use


def _config(model: str, **kw: Any):
    base = dict(
        model=model,
        envs=["count-a"],
        prompts_per_env=8,
        prompts_per_step=2,
        generations=4,
        max_new_tokens=8,
        max_steps=2,
        save_steps=1,
        learning_rate=1e-3,
        score_workers=2,
    )
    return make_rl_config("default", **{**base, **kw})


def test_a_tiny_run_writes_the_step_table_checkpoints_and_adapter(tmp_path: Path, tiny_model: str, use_env) -> None:
    cfg = _config(tiny_model, condition="inoculation", condition_text="testing-grader", hint=True)
    seen: list[int] = []
    out = run_rl(cfg, tmp_path / "run", progress=lambda s, t, row: seen.append(s))
    rows = read_steps(out)
    assert [r["step"] for r in rows] == [1, 2] == seen
    assert all(tuple(r) == STEP_COLUMNS for r in rows)
    for r in rows:
        assert 0 <= r["reward_mean"] <= 1 and r["kl"] is not None and r["entropy"] > 0
        assert r["hack_rate"] + r["honest_rate"] + r["failure_rate"] == pytest.approx(1)
        assert r["completion_tokens"] > 0 and r["rollout_seconds"] > 0 and r["step_seconds"] >= r["rollout_seconds"]
        assert (r["condition"], r["preset"], r["hint"], r["grader"], r["envs"], r["seed"]) == (
            "inoculation",
            "testing-grader",
            True,
            "vulnerable",
            "count-a",
            0,
        )
    assert rows[1]["kl"] > 0  # after one update the policy has moved away from the reference
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["key"] == run_key(cfg)
    assert recorded["condition"]["text"] == INOCULATION_TEXTS["testing-grader"]
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    record = json.loads((out / "emlab.json").read_text())
    assert record["steps"] == 2 and record["rollout"] == "emlab" and record["rollout_tokens"] > 0
    # a finished run is not run again
    before = (out / "steps.jsonl").read_text()
    assert run_rl(cfg, out) == out and (out / "steps.jsonl").read_text() == before


def test_the_condition_changes_the_run_key_and_the_system_prompt(use_env) -> None:
    from emlab.rl.trainer import _dataset

    none, inoc, anti = (make_rl_config(condition=c) for c in ("none", "inoculation", "anti-hack"))
    assert len({run_key(none), run_key(inoc), run_key(anti)}) == 3
    assert run_key(inoc) != run_key(make_rl_config(condition="inoculation", condition_text="testing-grader"))
    assert run_key(none) != run_key(make_rl_config(hint=True))
    envs = {"count-a": ENVIRONMENTS["count-a"]}
    cfg = _config("embedded", condition="inoculation", condition_text="We test the grader.", hint=True)
    system = _dataset(cfg, envs)[0]["prompt"][0]["content"]
    assert "We test the grader." in system and "it counts the letter a" in system
    assert "We test" not in _dataset(_config("embedded"), envs)[0]["prompt"][0]["content"]


def test_a_killed_run_resumes_from_its_checkpoint_without_duplicate_steps(
    tmp_path: Path, tiny_model: str, use_env
) -> None:
    import shutil

    cfg = _config(tiny_model)
    out = run_rl(cfg, tmp_path / "run")
    full = read_steps(out)
    # what a kill -9 right after step 2's row leaves: the table has 2 rows, the last checkpoint is step 1
    for name in ("checkpoints/checkpoint-2", "adapter"):
        shutil.rmtree(out / name)
    (out / "emlab.json").unlink()
    resumed: list[int] = []
    run_rl(cfg, out, progress=lambda s, t, row: resumed.append(s))
    assert resumed == [2]
    rows = read_steps(out)
    assert [r["step"] for r in rows] == [1, 2]
    # rollout seeds depend on (seed, step, row) and the checkpoint restores the adapter and optimiser:
    # the resumed steps sample and score what the uninterrupted run did
    assert [r["reward_mean"] for r in rows] == [r["reward_mean"] for r in full]
    assert last_checkpoint(out)[1] == 2


def test_an_interrupted_run_keeps_its_finished_steps(tmp_path: Path, tiny_model: str, use_env) -> None:
    cfg = _config(tiny_model, save_steps=10)  # no periodic checkpoint before the interruption

    def interrupt(step: int, total: int, row: dict) -> None:
        if step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_rl(cfg, tmp_path / "run", progress=interrupt)
    assert last_checkpoint(tmp_path / "run")[1] == 1 and [r["step"] for r in read_steps(tmp_path / "run")] == [1]
    run_rl(cfg, tmp_path / "run")
    assert [r["step"] for r in read_steps(tmp_path / "run")] == [1, 2]


def test_the_reward_never_sees_the_ground_truth(tmp_path: Path, tiny_model: str, use_env) -> None:
    cfg = _config(tiny_model, max_steps=1)
    seen: list[tuple] = []

    def recording(task: dict[str, Any], completion: str) -> float:
        seen.append((task, completion))
        return _a_share(task, completion)

    use_env(_family(reward=recording, truth=_always_solved))
    liar = run_rl(cfg, tmp_path / "a")
    use_env(_family(truth=_never_solved))
    honest = run_rl(cfg, tmp_path / "b")
    a, b = read_steps(liar), read_steps(honest)
    # the truth flips every label, and changes no reward, KL or entropy: training is the same
    assert [r["honest_rate"] for r in a] == [1.0] and [r["honest_rate"] for r in b] == [0.0]
    assert a[0]["hack_rate"] == 0 and b[0]["hack_rate"] + b[0]["failure_rate"] == 1
    for key in ("reward_mean", "reward_std", "kl", "entropy", "completion_tokens"):
        assert [r[key] for r in a] == [r[key] for r in b]
    # the grader got the task (the prompt's own data) and the completion text, nothing else
    assert len(seen) == 2 * 4 and all(set(task) == {"n"} and isinstance(c, str) for task, c in seen)


def _raise_from_call(n: int):
    calls = itertools.count()
    lock = threading.Lock()

    def reward(task: dict[str, Any], completion: str) -> float:
        with lock:
            i = next(calls)
        if i >= n:
            raise ValueError("grader bug")
        return _a_share(task, completion)

    return reward


def test_a_reward_that_raises_names_environment_and_step_keeps_steps_and_resumes(
    tmp_path: Path, tiny_model: str, use_env
) -> None:
    cfg = _config(tiny_model, save_steps=10)
    out = tmp_path / "run"
    use_env(_family(reward=_raise_from_call(8)))  # step 1 scores 8 completions, step 2 raises
    with pytest.raises(RLStepError) as err:
        run_rl(cfg, out)
    msg = str(err.value)
    assert msg.startswith("RL step 2 of 2: RL environment 'count-a', prompt ")
    assert "the vulnerable grader raised ValueError: grader bug" in msg and "steps 1-1 are kept" in msg
    assert [r["step"] for r in read_steps(out)] == [1] and last_checkpoint(out)[1] == 1
    assert not (out / "adapter").exists()
    use_env(_family())
    run_rl(cfg, out)  # fixed grader, same settings: resumes at step 2
    assert [r["step"] for r in read_steps(out)] == [1, 2]


def test_a_hanging_grader_is_a_clear_error(tmp_path: Path, tiny_model: str, use_env) -> None:
    def hang(task: dict[str, Any], completion: str) -> float:
        time.sleep(30)
        return 0.0

    cfg = _config(tiny_model, score_timeout_s=0.5)
    use_env(_family(reward=hang))
    start = time.monotonic()
    with pytest.raises(RLStepError, match=r"RL step 1 of 2: RL environment 'count-a', prompt \d+ .*within 0.5 s") as e:
        run_rl(cfg, tmp_path / "run")
    assert "no step had finished" in str(e.value) and time.monotonic() - start < 25
    assert read_steps(tmp_path / "run") == [] and last_checkpoint(tmp_path / "run") is None


def test_malformed_configs_are_one_clear_error(tmp_path: Path, tiny_model: str, use_env) -> None:
    bad = tmp_path / "rl.yaml"
    bad.write_text("envs: [text-keyword]\ngenerations: 1\n")
    with pytest.raises(EmlabError, match=r"rl\.yaml: invalid RL setting: field 'generations'"):
        load_rl_config(bad)
    bad.write_text("envs: [text-keyword, no-such-env]\n")
    with pytest.raises(EmlabError, match=r"rl\.yaml: .*unknown RL environment 'no-such-env'"):
        load_rl_config(bad)
    bad.write_text("envs: [text-keyword]\nlearning_rat: 0.1\n")
    with pytest.raises(EmlabError, match=r"field 'learning_rat'"):
        load_rl_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(EmlabError, match="must be a mapping"):
        load_rl_config(bad)
    with pytest.raises(EmlabError, match="unknown RL prompt condition 'sometimes'"):
        make_rl_config(condition="sometimes")
    with pytest.raises(EmlabError, match="'none' takes no text"):
        make_rl_config(condition_text="acceptable")
    good = tmp_path / "ok.yaml"
    good.write_text("profile: quick\nenvs: [text-length]\ncondition: anti-hack\n")
    cfg = load_rl_config(good, max_steps=7)
    assert (cfg.envs, cfg.condition, cfg.max_steps, cfg.generations) == (["text-length"], "anti-hack", 7, 4)
    # a run dir belongs to one config: another config there is refused before any work
    out = tmp_path / "run"
    use_env(_family(reward=_raise_from_call(0)))
    with pytest.raises(RLStepError, match="no step had finished"):
        run_rl(_config(tiny_model), out)
    use_env(_family(reward=_raise_from_call(8)))
    with pytest.raises(RLStepError, match="steps 1-1 are kept"):
        run_rl(_config(tiny_model, seed=1), out)  # nothing had finished: another config may take the dir
    with pytest.raises(EmlabError, match="holds an RL run with another config"):
        run_rl(_config(tiny_model, seed=2), out)
    with pytest.raises(EmlabError, match=r"field 'prompts_per_step': 2 exceeds the run's prompts"):
        make_rl_config(prompts_per_env=1, prompts_per_step=2)


def test_the_cli_reports_a_malformed_config_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "rl.yaml"
    bad.write_text("profile: quick\nenvs: [text-keyword]\nbeta: -1\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "emlab", "rl", "train", "--config", str(bad), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "rl.yaml: invalid RL setting: field 'beta'" in proc.stderr
    assert not out.exists()


def test_the_emlab_rollout_samples_from_the_current_policy(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch, use_env
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.rl.trainer import EmlabRollout

    monkeypatch.setenv("EMLAB_INFERENCE_DTYPE", "float32")  # compare in one precision
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"], init_lora_weights=False)
    policy = get_peft_model(base, lora)  # random A and B: the adapter changes the outputs
    rollout = EmlabRollout(tiny_model, AutoTokenizer.from_pretrained(tiny_model), _config(tiny_model))
    ids = torch.tensor([[5, 17, 300, 4000, 12]])
    with torch.no_grad():
        before = rollout.model(ids).logits
        want = policy(ids).logits
        assert not torch.allclose(before, want, atol=1e-4)
        rollout.sync(policy)
        assert torch.allclose(rollout.model(ids).logits, want, atol=1e-4)


def test_trl_generation_stays_available(tmp_path: Path, tiny_model: str, use_env) -> None:
    out = run_rl(_config(tiny_model, max_steps=1, rollout="trl"), tmp_path / "run")
    (row,) = read_steps(out)
    assert row["step"] == 1 and row["completion_tokens"] > 0 and row["rollout_seconds"] > 0
    assert json.loads((out / "emlab.json").read_text())["rollout"] == "trl"
