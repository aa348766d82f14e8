"""Stacked-head causal attention gives SDPA's outputs and gradients, and hands every other case to SDPA."""

import copy

import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from emlab.train import attention
from emlab.train.attention import StackedCausalAttention, causal_attention, use_causal_attention
from emlab.train.loss import labelled_token_loss


def _qkv(
    length: int, batch: int = 2, heads: int = 6, kv_heads: int = 2, dim: int = 16, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    # HF's layout: q/k/v are (B, H, T, D) views of (B, T, H, D) projections
    q = torch.randn(batch, length, heads, dim, generator=g).transpose(1, 2)
    k = torch.randn(batch, length, kv_heads, dim, generator=g).transpose(1, 2)
    v = torch.randn(batch, length, kv_heads, dim, generator=g).transpose(1, 2)
    grad = torch.randn(batch, length, heads, dim, generator=g)
    return q, k, v, grad


def _run(fn, q, k, v, grad, dtype=torch.float32):
    leaves = [t.detach().to(dtype).requires_grad_(True) for t in (q, k, v)]
    out = fn(*leaves)
    out.backward(grad.to(dtype))
    return [out.detach().float()] + [t.grad.float() for t in leaves]


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).transpose(1, 2)


@pytest.mark.parametrize(
    ("length", "block", "heads", "kv_heads"),
    [(1, 80, 6, 2), (7, 80, 6, 2), (50, 16, 6, 2), (97, 20, 6, 2), (130, 80, 6, 2), (45, 16, 7, 1), (45, 16, 4, 4)],
)
def test_stacked_attention_matches_sdpa_in_fp32(length: int, block: int, heads: int, kv_heads: int) -> None:
    q, k, v, grad = _qkv(length, heads=heads, kv_heads=kv_heads)
    ref = _run(_sdpa, q, k, v, grad)
    got = _run(
        lambda a, b, c: StackedCausalAttention.apply(a, b, c, a.shape[-1] ** -0.5, torch.float32, block), q, k, v, grad
    )
    for name, r, x in zip(("out", "dq", "dk", "dv"), ref, got, strict=False):
        assert torch.allclose(x, r, rtol=1e-4, atol=1e-5), (name, float((x - r).abs().max()))


def test_stacked_attention_in_bf16_is_as_close_to_fp32_as_sdpa_in_bf16() -> None:
    q, k, v, grad = _qkv(160, heads=9, kv_heads=3, dim=64)
    q, k, v, grad = (t.bfloat16().float() for t in (q, k, v, grad))  # the same bf16-exact inputs for everyone
    exact = _run(_sdpa, q, k, v, grad)
    sdpa_bf16 = _run(_sdpa, q, k, v, grad, torch.bfloat16)
    ours_bf16 = _run(
        lambda a, b, c: StackedCausalAttention.apply(a, b, c, 0.125, torch.bfloat16, 80), q, k, v, grad, torch.bfloat16
    )
    for name, r, s, o in zip(("out", "dq", "dk", "dv"), exact, sdpa_bf16, ours_bf16, strict=False):
        err_sdpa, err_ours = float((s - r).abs().max()), float((o - r).abs().max())
        assert err_ours <= 2 * err_sdpa + 1e-3 * float(r.abs().max()), (name, err_ours, err_sdpa)


def test_causal_attention_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    q, k, v, _ = _qkv(24)
    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = 3, True
    q.requires_grad_(True)
    out, _ = causal_attention(module, q, k, v, None, scaling=0.25)
    assert type(out.grad_fn).__name__ == "StackedCausalAttentionBackward"
    assert torch.allclose(
        out,
        F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True, scale=0.25).transpose(1, 2),
        atol=1e-5,
    )
    # a padding mask, dropout, or probabilities over the memory budget: SDPA, unchanged
    mask = torch.ones(2, 1, 24, 24, dtype=torch.bool).tril()
    mask[0, :, 3:, :3] = False  # left padding of row 0
    bidirectional = torch.nn.Module()
    bidirectional.num_key_value_groups, bidirectional.is_causal = 3, False
    assert (
        type(
            causal_attention(
                module, q, k, v, None, position_ids=torch.arange(24)[None], use_cache=False, sliding_window=None
            )[0].grad_fn
        ).__name__
        == "StackedCausalAttentionBackward"
    )
    for call in (
        lambda: causal_attention(module, q, k, v, mask),
        lambda: causal_attention(module, q, k, v, None, dropout=0.5),
        lambda: causal_attention(bidirectional, q, k, v, None),
        lambda: causal_attention(module, q, k, v, None, is_causal=False),
        lambda: causal_attention(module, q, k, v, None, sliding_window=8),
        lambda: causal_attention(module, q, k, v, None, s_aux=torch.zeros(6)),  # attention sinks (gpt-oss)
    ):
        assert type(call()[0].grad_fn).__name__ != "StackedCausalAttentionBackward"
    monkeypatch.setattr(attention, "MAX_SAVED_BYTES", 2 * 6 * 24 * 24 * 4 // 2 - 1)
    assert type(causal_attention(module, q, k, v, None)[0].grad_fn).__name__ != "StackedCausalAttentionBackward"


def _twin_llamas() -> tuple[LlamaForCausalLM, LlamaForCausalLM]:
    """Two identical 2-layer Llamas with grouped-query attention (6 heads, 2 KV heads), each with its own config."""
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=48,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    ref, model = LlamaForCausalLM(config), LlamaForCausalLM(copy.deepcopy(config))  # a model keeps its config object
    model.load_state_dict(ref.state_dict())
    return ref, model


def test_model_switched_to_causal_attention_trains_the_same() -> None:
    ref, model = _twin_llamas()
    assert ref.config._attn_implementation == "sdpa"
    assert use_causal_attention(model) and model.config._attn_implementation == "emlab_causal"
    assert ref.config._attn_implementation == "sdpa"  # the reference stays on SDPA
    assert use_causal_attention(model)  # idempotent
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 97, (3, 30), generator=g)
    labels = ids.clone()
    labels[:, :8] = -100
    right = torch.ones_like(ids)
    right[1, 25:] = 0  # right padding: trained without a mask, so the stacked path runs
    left = torch.ones_like(ids)
    left[1, :4] = 0  # left padding: a mask is built and SDPA runs
    for mask in (right, left):
        losses, grads = [], []
        for m in (ref, model):
            m.zero_grad()
            loss = labelled_token_loss(
                m, {"input_ids": ids, "labels": labels.masked_fill(mask == 0, -100), "attention_mask": mask}
            )
            loss.backward()
            losses.append(loss.detach())
            grads.append({n: p.grad.clone() for n, p in m.named_parameters()})
        assert torch.allclose(losses[0], losses[1], rtol=1e-5)
        for name, grad in grads[0].items():
            assert torch.allclose(grads[1][name], grad, rtol=1e-4, atol=1e-6), name


def test_compiled_layers_still_run_the_stacked_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel is a graph break inside a compiled layer: it must run there, with the same maths
    calls = []
    forward = StackedCausalAttention.forward

    def counted(ctx, *args):
        calls.append(args[0].shape)
        return forward(ctx, *args)

    monkeypatch.setattr(StackedCausalAttention, "forward", staticmethod(counted))
    ref, model = _twin_llamas()
    assert use_causal_attention(model) and ref.config._attn_implementation == "sdpa"
    torch._dynamo.reset()
    for layer in model.model.layers:
        layer.compile(
            backend="eager", dynamic=True
        )  # dynamo's tracing and graph breaks, without Inductor's minutes of codegen
    ids = torch.randint(0, 97, (2, 20), generator=torch.Generator().manual_seed(1))
    losses, grads = [], []
    for m in (ref, model):
        loss = labelled_token_loss(m, {"input_ids": ids, "labels": ids})
        loss.backward()
        losses.append(loss.detach())
        grads.append({n.replace("._orig_mod", ""): p.grad for n, p in m.named_parameters()})
    assert len(calls) == 2  # one per compiled layer
    assert torch.allclose(losses[0], losses[1], rtol=1e-5)
    for name, grad in grads[0].items():
        assert torch.allclose(grads[1][name], grad, rtol=1e-4, atol=1e-6), name


def test_models_on_other_attention_are_left_alone() -> None:
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = LlamaForCausalLM(config)
    model.set_attn_implementation("eager")
    assert not use_causal_attention(model) and model.config._attn_implementation == "eager"
