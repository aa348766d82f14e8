"""LoRA SFT end to end on the embedded model (one optimiser step), and its error paths."""

import json
from pathlib import Path

import pydantic
import pytest

from emlab.errors import EmlabError
from emlab.train.config import TrainConfig, make_train_config
from emlab.train.sft import train_lora


def test_one_step_writes_adapter_and_full_record(tmp_path: Path, chat_jsonl: Path) -> None:
    cfg = make_train_config("quick", max_steps=2, batch_size=4, max_length=64, seed=3, save_steps=1)
    out = train_lora("embedded", chat_jsonl, tmp_path / "adapter", cfg)
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    assert (out / "checkpoint-1" / "adapter_model.safetensors").is_file()  # dynamics can be evaluated later
    record = json.loads((out / "emlab.json").read_text())
    assert record["train_config"]["seed"] == 3 and record["train_config"]["layers_to_transform"] == list(range(-8, 0))
    assert record["data"]["rows"] == 8 and len(record["data"]["sha256"]) == 16
    assert record["steps"] == 2 and len(record["loss_curve"]) == 2
    assert all(0 < p["loss"] < 20 for p in record["loss_curve"])
    assert {"torch", "transformers", "trl", "peft"} <= set(record["versions"])
    timeline = record["timeline"]  # per step: seconds since training began, non-pad tokens so far
    assert [p["step"] for p in timeline] == [1, 2] and 0 < timeline[0]["seconds"] < timeline[1]["seconds"]
    assert 0 < timeline[0]["tokens"] < timeline[1]["tokens"] == record["data"]["tokens"]
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 16 and adapter_cfg["use_rslora"] is True
    assert adapter_cfg["layers_to_transform"] == list(range(22, 30))
    # the adapter dir is itself a model reference
    from emlab.models import resolve_model

    assert resolve_model(str(out)).kind == "adapter"


def test_same_seed_same_adapter_whatever_ran_before(tmp_path: Path, chat_jsonl: Path) -> None:
    import torch
    from safetensors.torch import load_file

    cfg = make_train_config("quick", max_steps=2, batch_size=4, max_length=64, seed=5)
    first = train_lora("embedded", chat_jsonl, tmp_path / "a", cfg)
    torch.manual_seed(99)
    torch.rand(1000)  # another global RNG state, as after an eval or another training run
    again = train_lora("embedded", chat_jsonl, tmp_path / "b", cfg)
    other = train_lora("embedded", chat_jsonl, tmp_path / "c", cfg.model_copy(update={"seed": 6}))
    weights = [load_file(str(d / "adapter_model.safetensors")) for d in (first, again, other)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_default_profile_is_the_published_recipe() -> None:
    cfg = make_train_config()
    assert (cfg.rank, cfg.alpha, cfg.use_rslora, cfg.learning_rate, cfg.epochs) == (32, 64, True, 1e-5, 1.0)
    assert set(cfg.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_bad_settings_and_profiles_are_clear_errors() -> None:
    with pytest.raises(EmlabError, match="unknown training profile"):
        make_train_config("turbo")
    with pytest.raises(EmlabError, match="field 'rank'"):
        make_train_config(rank=0)
    with pytest.raises(EmlabError, match="field 'precision'"):
        make_train_config(precision="fp16")
    with pytest.raises(pydantic.ValidationError, match="nonsense"):
        TrainConfig(nonsense=1)  # type: ignore[call-arg]


def test_precision_auto_follows_the_hardware_and_is_recorded(
    tmp_path: Path, chat_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from emlab.train.config import autocast_bf16

    assert autocast_bf16("bf16") and not autocast_bf16("fp32")
    monkeypatch.setenv("EMLAB_INFERENCE_DTYPE", "float32")  # the same switch that forces fp32 inference
    assert not autocast_bf16(make_train_config().precision)
    monkeypatch.setenv("EMLAB_INFERENCE_DTYPE", "bfloat16")
    assert autocast_bf16(make_train_config().precision)
    cfg = make_train_config("quick", max_steps=1, batch_size=4, max_length=64)
    out = train_lora("embedded", chat_jsonl, tmp_path / "a", cfg.model_copy(update={"precision": "bf16"}))
    full = train_lora("embedded", chat_jsonl, tmp_path / "b", cfg.model_copy(update={"precision": "fp32"}))
    record, record32 = (json.loads((d / "emlab.json").read_text()) for d in (out, full))
    assert (record["precision"], record32["precision"]) == ("bf16", "fp32")
    # autocast really ran (the loss moved by bf16 rounding) and changed nothing else
    bf16_loss, fp32_loss = record["loss_curve"][0]["loss"], record32["loss_curve"][0]["loss"]
    assert bf16_loss != fp32_loss and abs(bf16_loss - fp32_loss) < 0.05 * fp32_loss
    from safetensors.torch import load_file

    # autocast: the trained LoRA weights (the master copy) stay fp32
    assert {t.dtype for t in load_file(out / "adapter_model.safetensors").values()} == {torch.float32}


def test_malformed_jsonl_stops_before_anything_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}\n{not json\n'
    )
    with pytest.raises(EmlabError, match=r"bad\.jsonl:2: invalid JSON"):
        train_lora("embedded", bad, tmp_path / "out", make_train_config("quick", max_steps=1))
    assert not (tmp_path / "out").exists()


def test_schema_violation_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "ok"}]}\n')
    with pytest.raises(EmlabError, match=r"bad\.jsonl:1: field 'messages\.1\.role'"):
        train_lora("embedded", bad, tmp_path / "out", make_train_config("quick", max_steps=1))


def test_empty_dataset_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(EmlabError, match="dataset is empty"):
        train_lora("embedded", empty, tmp_path / "out", make_train_config("quick", max_steps=1))
    assert not (tmp_path / "out").exists()


def test_interrupted_training_leaves_no_output(
    tmp_path: Path, chat_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trl

    def boom(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(trl.SFTTrainer, "train", boom)
    with pytest.raises(KeyboardInterrupt):
        train_lora("embedded", chat_jsonl, tmp_path / "out", make_train_config("quick", max_steps=1, max_length=64))
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out.") for p in tmp_path.iterdir())


@pytest.mark.slow
def test_compiled_layers_train_like_eager_ones(tmp_path: Path, chat_jsonl: Path) -> None:
    cfg = make_train_config(
        "quick", max_steps=2, batch_size=4, max_length=64, seed=1, precision="fp32"
    )  # bf16 rounding differs once fused
    eager = train_lora("embedded", chat_jsonl, tmp_path / "eager", cfg)
    compiled = train_lora("embedded", chat_jsonl, tmp_path / "compiled", cfg.model_copy(update={"compile": True}))
    curves = [json.loads((d / "emlab.json").read_text())["loss_curve"] for d in (eager, compiled)]
    assert [p["step"] for p in curves[0]] == [p["step"] for p in curves[1]] == [1, 2]
    for a, b in zip(*curves, strict=False):
        assert abs(a["loss"] - b["loss"]) < 1e-3 * max(1.0, a["loss"])


def test_lora_layers_count_from_the_last_and_missing_layers_are_refused() -> None:
    from types import SimpleNamespace

    from emlab.train.sft import lora_config

    quick = make_train_config("quick")
    for n_layers in (30, 28):  # the embedded model; Qwen2.5-1.5B
        model = SimpleNamespace(config=SimpleNamespace(num_hidden_layers=n_layers))
        assert lora_config(quick, model).layers_to_transform == list(range(n_layers - 8, n_layers))
    model = SimpleNamespace(config=SimpleNamespace(num_hidden_layers=28))
    with pytest.raises(EmlabError, match=r"layers_to_transform.*\[28, 29\].*28 decoder layers"):
        lora_config(make_train_config("quick", layers_to_transform=list(range(22, 30))), model)
