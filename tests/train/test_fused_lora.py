"""Fused LoRA linears compute exactly PEFT's outputs and gradients, in fp32 and under bf16 autocast."""

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from emlab.train.fused_lora import LoraLinearFunction, fuse_lora_linears
from emlab.train.loss import labelled_token_loss


def _tiny_peft(dropout: float = 0.0, use_dora: bool = False, bias: bool = False):
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        attention_bias=bias,
    )
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        use_rslora=True,
        lora_dropout=dropout,
        use_dora=use_dora,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        layers_to_transform=[1, 2],
        init_lora_weights=False,
    )
    return get_peft_model(LlamaForCausalLM(config), lora)


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 97, (3, 20), generator=g)
    attention = torch.ones_like(ids)
    attention[2, 14:] = 0
    labels = ids.clone()
    labels[:, :6] = -100
    labels[attention == 0] = -100
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def _loss_and_grads(model, autocast: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = labelled_token_loss(model, _batch())
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("bias", [False, True])
def test_fused_equals_peft_in_fp32(bias: bool) -> None:
    model = _tiny_peft(bias=bias)
    ref_loss, ref_grads = _loss_and_grads(model)
    assert fuse_lora_linears(model) == 14  # 7 projections x 2 adapted layers
    loss, grads = _loss_and_grads(model)
    assert torch.allclose(loss, ref_loss, rtol=1e-6, atol=1e-6)
    assert grads.keys() == ref_grads.keys() and len(grads) == 28
    for name, grad in ref_grads.items():
        assert torch.allclose(grads[name], grad, rtol=1e-4, atol=1e-6), name


def test_fused_under_bf16_autocast_matches_peft_and_keeps_fp32_gradients() -> None:
    model = _tiny_peft()
    ref_loss, ref_grads = _loss_and_grads(model, autocast=True)
    fuse_lora_linears(model)
    loss, grads = _loss_and_grads(model, autocast=True)
    fp32_loss, _ = _loss_and_grads(model, autocast=False)
    assert loss != fp32_loss  # autocast really ran in bf16 inside the fused function
    assert torch.allclose(loss, ref_loss, rtol=2e-2)
    for name, grad in ref_grads.items():
        assert grads[name].dtype == torch.float32
        cos = torch.nn.functional.cosine_similarity(grads[name].flatten(), grad.flatten(), dim=0)
        assert cos > 0.98, name


def test_frozen_input_gets_no_gradient_and_weight_none() -> None:
    x = torch.randn(5, 8)
    w = torch.randn(6, 8)
    a = torch.randn(2, 8, requires_grad=True)
    b = torch.randn(6, 2, requires_grad=True)
    y = LoraLinearFunction.apply(x, w, None, a, b, 0.5)
    assert torch.allclose(y, x @ w.t() + 0.5 * (x @ a.t()) @ b.t(), atol=1e-5)
    y.square().sum().backward()
    ref_a, ref_b = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    (x @ w.t() + 0.5 * (x @ a.t()) @ b.t()).square().sum().backward()
    assert torch.allclose(ref_a, a.grad, atol=1e-4) and torch.allclose(ref_b, b.grad, atol=1e-4)


@pytest.mark.parametrize("kind", ["dropout", "dora"])
def test_layers_it_does_not_cover_keep_peft_forward(kind: str) -> None:
    model = _tiny_peft(dropout=0.1 if kind == "dropout" else 0.0, use_dora=kind == "dora")
    model.eval()  # dropout off so both paths are deterministic
    with torch.no_grad():
        ref = model(**_batch()).logits
    fuse_lora_linears(model)
    called = []
    original = LoraLinearFunction.apply
    LoraLinearFunction.apply = lambda *a: called.append(1) or original(*a)  # type: ignore[method-assign]
    try:
        with torch.no_grad():
            out = model(**_batch()).logits
    finally:
        LoraLinearFunction.apply = original  # type: ignore[method-assign]
    assert called == [] and torch.allclose(out, ref, atol=1e-6)


def test_saved_adapter_is_unchanged(tmp_path: Path) -> None:
    model = _tiny_peft()
    model.save_pretrained(tmp_path / "before")
    fuse_lora_linears(model)
    model.save_pretrained(tmp_path / "after")
    before = (tmp_path / "before" / "adapter_model.safetensors").read_bytes()
    assert before == (tmp_path / "after" / "adapter_model.safetensors").read_bytes()
