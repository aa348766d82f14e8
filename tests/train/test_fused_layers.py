"""Fused RMSNorm, SwiGLU and rotary give Hugging Face's outputs and gradients; other layers are left alone."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.gemma.modeling_gemma import GemmaRMSNorm
from transformers.models.llama import modeling_llama

from emlab.train.fused_layers import RMSNormFunction, RotaryFunction, SwiGLUFunction, fuse_decoder_layers, fused_rotary
from emlab.train.fused_lora import fuse_lora_linears
from emlab.train.loss import labelled_token_loss


def _config(act: str = "silu") -> LlamaConfig:
    return LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        hidden_act=act,
    )


def _loss_and_grads(model: torch.nn.Module, autocast: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 97, (3, 20), generator=g)
    labels = ids.clone()
    labels[:, :6] = -100
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = labelled_token_loss(model, {"input_ids": ids, "labels": labels})
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("lora", [True, False])
def test_fused_model_has_the_same_loss_and_gradients(lora: bool) -> None:
    torch.manual_seed(0)
    model = LlamaForCausalLM(_config())
    for norm in (m for m in model.modules() if isinstance(m, modeling_llama.LlamaRMSNorm)):
        norm.weight.data.uniform_(0.5, 1.5)  # not all ones, so a wrong weight gradient would show
    if lora:  # frozen base, LoRA on layers 1-2: gradients stop below layer 1
        model = get_peft_model(
            model,
            LoraConfig(
                r=4,
                lora_alpha=8,
                target_modules=["q_proj", "v_proj", "gate_proj", "down_proj"],
                layers_to_transform=[1, 2],
                init_lora_weights=False,
            ),
        )
        fuse_lora_linears(model)
    ref_loss, ref_grads = _loss_and_grads(model)
    model.zero_grad(set_to_none=True)
    assert fuse_decoder_layers(model) == {"rms_norm": 7, "swiglu_mlp": 3}  # 2 per layer + final norm; 3 MLPs
    assert all(p.grad is None for p in model.parameters())  # the numerical check leaves no gradients behind
    assert fuse_decoder_layers(model) == {"rms_norm": 7, "swiglu_mlp": 3}  # idempotent
    with fused_rotary(model) as swapped:
        assert swapped and modeling_llama.apply_rotary_pos_emb.__name__ == "fused_apply_rotary_pos_emb"
        loss, grads = _loss_and_grads(model)
    assert modeling_llama.apply_rotary_pos_emb.__name__ == "apply_rotary_pos_emb"  # restored on exit
    assert torch.allclose(loss, ref_loss, rtol=1e-6, atol=1e-6)
    assert grads.keys() == ref_grads.keys() and len(grads) == (16 if lora else len(list(model.parameters())))
    for name, grad in ref_grads.items():
        assert torch.allclose(grads[name], grad, rtol=1e-4, atol=1e-6), name


def test_fused_model_under_bf16_autocast_matches() -> None:
    torch.manual_seed(0)
    model = LlamaForCausalLM(_config())
    ref_loss, ref_grads = _loss_and_grads(model, autocast=True)
    fuse_decoder_layers(model)
    with fused_rotary(model):
        loss, grads = _loss_and_grads(model, autocast=True)
    assert torch.allclose(loss, ref_loss, rtol=1e-2)
    for name, grad in ref_grads.items():
        assert grads[name].dtype == torch.float32
        assert torch.nn.functional.cosine_similarity(grads[name].flatten(), grad.flatten(), dim=0) > 0.99, name
    # norms hand their consumers (linear layers) the autocast dtype: the values those layers would cast to
    norm = model.model.layers[0].input_layernorm
    x = torch.randn(2, 5, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = norm(x)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, norm._unfused_forward(x).to(torch.bfloat16))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_are_swapped_and_train_alike(dtype: torch.dtype) -> None:
    """fp16/bf16 weights (GPU training): an ulp of rounding difference must not block the swap."""
    torch.manual_seed(0)
    wide = LlamaConfig(
        vocab_size=97,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=3,
        num_attention_heads=9,
        num_key_value_heads=3,
    )  # SmolLM2's widths
    model = LlamaForCausalLM(wide)
    for norm in (m for m in model.modules() if isinstance(m, modeling_llama.LlamaRMSNorm)):
        norm.weight.data.uniform_(0.5, 1.5)
    model = model.to(dtype)
    ref_loss, ref_grads = _loss_and_grads(model)
    model.zero_grad(set_to_none=True)
    assert fuse_decoder_layers(model) == {"rms_norm": 7, "swiglu_mlp": 3}  # fp32 tolerances refused some fp16 norms
    with fused_rotary(model):
        loss, grads = _loss_and_grads(model)
    assert torch.allclose(loss.float(), ref_loss.float(), rtol=2e-2)
    for name, grad in ref_grads.items():
        assert (
            torch.nn.functional.cosine_similarity(grads[name].float().flatten(), grad.float().flatten(), dim=0) > 0.98
        ), name
    gelu_model = LlamaForCausalLM(_config(act="gelu")).to(dtype)  # the wider tolerance still tells layers apart
    assert fuse_decoder_layers(gelu_model)["swiglu_mlp"] == 0


def test_functions_on_their_own() -> None:
    g = torch.Generator().manual_seed(2)
    x, w = torch.randn(4, 5, 16, generator=g, requires_grad=True), torch.randn(16, generator=g, requires_grad=True)
    RMSNormFunction.apply(x, w, 1e-6).sum().backward()  # weight gradient = sum of normalised x
    xhat = x.detach() * (x.detach().square().mean(-1, keepdim=True) + 1e-6).rsqrt()
    assert torch.allclose(w.grad, xhat.sum((0, 1)), atol=1e-4)
    a, b = torch.randn(3, 7, generator=g, requires_grad=True), torch.randn(3, 7, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(SwiGLUFunction.apply, (a.double(), b.double()))
    q = torch.randn(2, 3, 5, 8, generator=g, dtype=torch.float64, requires_grad=True)
    cos, sin = torch.randn(2, 1, 5, 8, dtype=torch.float64), torch.randn(2, 1, 5, 8, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: RotaryFunction.apply(t, cos, sin), (q,))


def test_functions_compile_without_graph_breaks() -> None:
    # a graph break splits every compiled decoder layer (SwiGLU's torch.result_type was one)
    g = torch.Generator().manual_seed(3)
    x, w = torch.randn(2, 5, 16, generator=g, requires_grad=True), torch.randn(16, generator=g)
    gate, up = torch.randn(2, 5, 16, generator=g, requires_grad=True), torch.randn(2, 5, 16, generator=g)
    q, cos, sin = (
        torch.randn(2, 3, 5, 8, generator=g, requires_grad=True),
        torch.randn(2, 1, 5, 8, generator=g),
        torch.randn(2, 1, 5, 8, generator=g),
    )
    for fn, args in (
        (RMSNormFunction.apply, (x, w, 1e-6)),
        (SwiGLUFunction.apply, (gate, up)),
        (SwiGLUFunction.apply, (gate, up.bfloat16())),  # mixed precision: not in place
        (RotaryFunction.apply, (q, cos, sin)),
    ):
        torch._dynamo.reset()
        compiled = torch.compile(fn, backend="eager", fullgraph=True)  # fullgraph: a graph break raises
        assert torch.allclose(compiled(*args), fn(*args))


def test_layers_that_compute_something_else_are_not_swapped() -> None:
    gelu_model = LlamaForCausalLM(_config(act="gelu"))
    assert fuse_decoder_layers(gelu_model) == {"rms_norm": 7, "swiglu_mlp": 0}  # GELU MLP: output differs, kept
    assert all("_unfused_forward" not in m.__dict__ for m in gelu_model.modules() if hasattr(m, "gate_proj"))
    gemma_norm = GemmaRMSNorm(16)  # (1 + w) scaling, a different attribute name: not an RMSNorm of this shape
    torch.nn.init.normal_(gemma_norm.weight)
    assert fuse_decoder_layers(torch.nn.ModuleList([gemma_norm])) == {"rms_norm": 0, "swiglu_mlp": 0}


def test_rotary_swap_is_skipped_when_the_module_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LlamaForCausalLM(_config())

    def other_rotary(q, k, cos, sin, unsqueeze_dim=1):
        return q * cos.unsqueeze(unsqueeze_dim), k

    monkeypatch.setattr(modeling_llama, "apply_rotary_pos_emb", other_rotary)
    with fused_rotary(model) as swapped:
        assert not swapped and modeling_llama.apply_rotary_pos_emb is other_rotary
