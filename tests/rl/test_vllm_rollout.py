"""``rollout: vllm``: the adapter is loaded into the server every step, each row is sampled with its own seed.

Fast: against the fake vLLM server of tests/engines (fake/vllm/...). The real engine: the slow test at the end.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from emlab.engines.vllm import PYTHON_ENV
from emlab.errors import EmlabError
from emlab.rl.config import make_rl_config, row_seed
from emlab.rl.vllm_rollout import VLLMRollout

FAKE = Path(__file__).parents[1] / "engines" / "fake"
REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = os.environ.get(PYTHON_ENV) or str(REPO / ".venv-vllm" / "bin" / "python")


class _Tokenizer:
    """Chat template = the messages' text; ids = character codes (enough to check what reaches the server)."""

    def apply_chat_template(self, messages: list[dict], tokenize: bool, add_generation_prompt: bool) -> str:
        return "|".join(m["content"] for m in messages)

    def __call__(self, text: str, add_special_tokens: bool) -> dict:
        return {"input_ids": [ord(c) for c in text]}


class _Policy:
    def __init__(self) -> None:
        self.saved: list[Path] = []

    def save_pretrained(self, path: Path) -> None:
        Path(path).mkdir(parents=True)
        (Path(path) / "adapter_config.json").write_text(json.dumps({"r": 16}))
        self.saved.append(Path(path))


@pytest.fixture()
def fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    record = tmp_path / "record.jsonl"
    record.touch()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(record))
    monkeypatch.setenv(PYTHON_ENV, sys.executable)
    return record


def _events(record: Path, kind: str) -> list[dict]:
    return [e for e in map(json.loads, record.read_text().splitlines()) if e["event"] == kind]


def test_each_step_loads_the_adapter_and_seeds_each_row(tmp_path: Path, fake_server: Path) -> None:
    cfg = make_rl_config("quick", seed=7, max_new_tokens=3, rollout="vllm")
    rollout = VLLMRollout("base-dir", _Tokenizer(), cfg, tmp_path / "run")
    policy = _Policy()
    prompts = [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "yo"}]]
    try:
        for step in (0, 0, 1):
            trainer = SimpleNamespace(state=SimpleNamespace(global_step=step), model=policy, eos_token_ids=[2])
            out = rollout(prompts, trainer)
            assert out["prompt_ids"] == [[104, 105], [121, 111]]
            # the fake answers [seed % 1000 + 10, 11, 12] and stops: the end token is appended for TRL
            assert out["completion_ids"] == [[row_seed(7, step, r) % 1000 + 10, 11, 12, 2] for r in (0, 1)]
    finally:
        rollout.close()
    (start,) = _events(fake_server, "start")
    assert "--enable-lora" in start["argv"] and start["argv"][start["argv"].index("--max-lora-rank") + 1] == "16"
    assert [e["lora_name"] for e in _events(fake_server, "load_lora_adapter")] == ["policy-0", "policy-1"]
    assert [e["lora_name"] for e in _events(fake_server, "unload_lora_adapter")] == ["policy-0"]
    assert len(policy.saved) == 2  # once per step, not per call
    requests = _events(fake_server, "completions")
    assert len(requests) == 6 and {r["model"] for r in requests} == {"policy-0", "policy-1"}
    assert all(r["return_token_ids"] and r["max_tokens"] == 3 for r in requests)
    assert rollout.server.process is None  # stopped


def test_a_refused_adapter_is_a_clear_error(tmp_path: Path, fake_server: Path) -> None:
    rollout = VLLMRollout("base-dir", _Tokenizer(), make_rl_config("quick", rollout="vllm"), tmp_path / "run")
    rollout.server.env.clear()  # no runtime LoRA loading: the server refuses the adapter
    trainer = SimpleNamespace(state=SimpleNamespace(global_step=0), model=_Policy(), eos_token_ids=[2])
    try:
        with pytest.raises(EmlabError, match=r"POST /load_lora_adapter answered 404.*vllm-rollout.log"):
            rollout([[{"role": "user", "content": "hi"}]], trainer)
    finally:
        rollout.close()


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.skipif(not Path(VLLM_PYTHON).is_file(), reason=f"no vLLM venv ({VLLM_PYTHON}); run `make vllm`")
def test_real_vllm_rollouts_train_two_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emlab.rl.trainer import read_steps, run_rl

    monkeypatch.setenv(PYTHON_ENV, VLLM_PYTHON)
    cfg = make_rl_config("quick", envs=["text-length"], max_steps=2, save_steps=2, max_new_tokens=16, rollout="vllm")
    rows = read_steps(run_rl(cfg, tmp_path / "run"))
    assert [r["step"] for r in rows] == [1, 2] and all(r["completion_tokens"] > 0 for r in rows)
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "run" / "rollout-adapters").iterdir()) == ["policy-0", "policy-1"]
