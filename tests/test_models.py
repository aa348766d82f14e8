"""Model reference resolution: embedded, local dir, adapter dir, hub id, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.models import resolve_model


def test_embedded_resolves_to_a_loadable_cached_dir(embedded_dir: Path) -> None:
    m = resolve_model("embedded")
    assert m.kind == "embedded" and Path(m.path) == embedded_dir
    cfg = json.loads((embedded_dir / "config.json").read_text())
    assert cfg["model_type"] == "llama" and cfg["num_hidden_layers"] == 30
    assert (embedded_dir / "model.safetensors").stat().st_size > 100e6  # dequantised float weights
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(m.path)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    assert m.inspect_name == f"emlab/{m.path}"


def test_local_dir_and_adapter_dir(tmp_path: Path, embedded_dir: Path) -> None:
    assert resolve_model(str(embedded_dir)).kind == "local"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(embedded_dir)}))
    m = resolve_model(str(adapter))
    assert m.kind == "adapter" and m.base is not None and m.base.kind == "local"
    assert m.base_path == str(embedded_dir.resolve())


def test_hub_id_is_accepted_without_loading() -> None:
    m = resolve_model("Qwen/Qwen2.5-0.5B-Instruct")
    assert (m.kind, m.path) == ("hub", "Qwen/Qwen2.5-0.5B-Instruct")
    assert resolve_model("hf/Qwen/Qwen2.5-0.5B-Instruct").path == "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.mark.parametrize("ref", ["not-a-model", "./missing/dir", "/nonexistent/path"])
def test_unknown_reference_is_a_clear_error(ref: str) -> None:
    with pytest.raises(EmlabError, match="unknown model reference"):
        resolve_model(ref)


def test_dir_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(EmlabError, match="neither a model"):
        resolve_model(str(tmp_path))


def test_cli_unknown_model_exits_nonzero_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emlab", "models", "show", "no-such-model"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "unknown model reference 'no-such-model'" in proc.stderr
    assert "Traceback" not in proc.stderr
