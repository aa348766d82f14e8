"""The ``kernels`` switch: emlab's CPU kernels or the library code, resolved per device and recorded."""

import json
from pathlib import Path

import pytest
import torch
import trl
from typer.testing import CliRunner

import emlab.train.sft as sft
from emlab.cli import app
from emlab.errors import EmlabError
from emlab.train.config import make_train_config, resolve_kernels


def test_auto_is_emlab_on_a_cpu_and_library_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_kernels("auto") == "emlab"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_kernels("auto") == "library"
    assert resolve_kernels("emlab") == "emlab" and resolve_kernels("library") == "library"  # explicit: any device
    assert resolve_kernels("auto", "cpu") == "emlab" and resolve_kernels("auto", "mps") == "library"
    assert make_train_config().kernels == "auto"


def test_library_and_emlab_give_the_same_loss_and_record_the_choice(
    tmp_path: Path, chat_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []  # what each training ran, in call order
    real_train = trl.SFTTrainer.train

    def spying_train(self, *args, **kwargs):
        result = real_train(self, *args, **kwargs)
        seen.append(
            {
                "attention": self.model.get_base_model().config._attn_implementation,
                # TRL's loss logs the entropy of the next-token distribution, emlab's does not
                "trl_loss": any("entropy" in log for log in self.state.log_history),
            }
        )
        return result

    monkeypatch.setattr(trl.SFTTrainer, "train", spying_train)
    cfg = make_train_config("quick", max_steps=1, batch_size=4, max_length=64, seed=2, precision="fp32")
    records = {}
    for setting in ("library", "auto"):
        out = sft.train_lora("embedded", chat_jsonl, tmp_path / setting, cfg.model_copy(update={"kernels": setting}))
        records[setting] = json.loads((out / "emlab.json").read_text())
    assert records["library"]["kernels"] == "library" and records["auto"]["kernels"] == "emlab"  # auto on a CPU
    assert records["auto"]["train_config"]["kernels"] == "auto"  # the setting as given, beside its resolution
    assert seen == [
        {"attention": "sdpa", "trl_loss": True},
        {"attention": "emlab_causal", "trl_loss": False},
    ]
    # the same first batch, the same fp32 loss, whichever code computed it
    losses = [records[k]["loss_curve"][0]["loss"] for k in ("library", "auto")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_cli_passes_kernels_and_refuses_unknown_ones(
    tmp_path: Path, chat_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = []
    monkeypatch.setattr(sft, "train_lora", lambda model, data, out, cfg, progress=None: configs.append(cfg))
    args = ["train", "--model", "embedded", "--data", str(chat_jsonl), "--profile", "quick"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a"), "--kernels", "library"])
    assert result.exit_code == 0, result.output
    assert [c.kernels for c in configs] == ["library"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--kernels", "fast"])
    assert isinstance(result.exception, EmlabError) and "field 'kernels'" in str(result.exception)
    assert len(configs) == 1 and not (tmp_path / "b").exists()
