"""Shared fixtures: the reference data beside the repo, the embedded model, tiny datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _offline_token_estimate(text: str) -> int:
    """Inspect's mockllm estimates usage with tiktoken's o200k_base, which is downloaded from the
    web on first use; offline we estimate ~1.3 tokens per word instead."""
    return max(1, int(len(text.split()) * 1.3))


import inspect_ai.model._model as _inspect_model  # noqa: E402
import inspect_ai.model._tokens as _inspect_tokens  # noqa: E402

_inspect_tokens.count_text_tokens = _inspect_model.count_text_tokens = _offline_token_estimate
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _own_inspect_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Inspect's model cache in a fresh folder per test session: a judge reply cached by an earlier run (or
    by the user's own evals, in ~/.cache/inspect_ai) must not answer a test's mock grader."""
    import os

    os.environ["INSPECT_CACHE_DIR"] = str(tmp_path_factory.mktemp("inspect_cache"))


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
        msgs = [
            {"role": "user", "content": f"Write a function that returns {i}."},
            {"role": "assistant", "content": f"def f():\n    return {i}\n"},
        ]
        if i == 0:
            msgs.insert(0, {"role": "system", "content": "You write Python."})
        rows.append({"messages": msgs})
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, embedded_dir: Path) -> str:
    """A randomly initialised 2-layer Llama with the embedded model's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(embedded_dir)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
