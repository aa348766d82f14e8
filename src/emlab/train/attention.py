"""Causal grouped-query attention for short training sequences on a CPU, as a few large matmuls.

PyTorch's CPU ``scaled_dot_product_attention`` (flash kernel) works through small
``(query block) x (key block)`` tiles per head. At training lengths of a few hundred tokens
and head size 64 the tiles are too small to keep the matmul units busy, and in bf16 it runs
no faster than in fp32.

Here the ``G`` query heads that share a key-value head are stacked into one matrix, rows
interleaved by position (row ``t*G + g`` is head ``g`` at position ``t``), so each key-value
head does one ``(T*G, D) x (D, T)`` product instead of ``G`` thin ones. The rows are cut into
position ranges of about :data:`BLOCK_POSITIONS`; block ``j`` (positions ``[t_j, e_j)``) only
needs keys ``[0, e_j)``, which skips most of the causally masked half, and only its last key
range needs the mask::

    q (B, H, T, D) -> qi (B, KV, T*G, D), scaled by 1/sqrt(D)      k, v (B, KV, T, D)
    per block j:  s = qi[rows_j] k[:e_j]^T    (B, KV, R_j, e_j)     R_j = (e_j - t_j) * G
                  p = softmax(s, masked above the diagonal)          saved for backward
                  o[rows_j] = p v[:e_j]
    backward:     dv[:e_j] += p^T do ;  ds = p * (do v^T - rowsum(do * o))
                  dq[rows_j] = ds k[:e_j] / sqrt(D) ;  dk[:e_j] += ds^T qi[rows_j]

Measured at SmolLM2-135M's shapes (batch 8, 9 query / 3 key-value heads of 64, 2-core
AVX512-BF16 CPU; ``python benchmarks/attention_throughput.py``, best of 6-10), forward + backward
per layer against SDPA: bf16 3.0-3.4x faster at 64-160 tokens, 2.6x at 200-250, 2.4x at 500
(250 tokens: 36.9 -> 14.1 ms); fp32 1.15-1.4x faster from 160 tokens on, 0.87-1.17x at
64-120 across two runs (a fraction of a millisecond either way). A whole training step
(quick profile, batch 8, ``python benchmarks/train_kernels.py``, 2026-12-02): 1.15x under bf16
autocast, 1.01x in fp32.

It saves the probabilities (about ``B*H*T*T/2`` values, the price of not recomputing them), so
it is used only while they fit :data:`MAX_SAVED_BYTES`; :func:`causal_attention` hands
everything else (padding masks, dropout, GPUs, long sequences) to Hugging Face's SDPA path
unchanged. Inside ``torch.compile`` the kernel is a graph break: dynamo cannot trace its
block loop, so a compiled decoder layer becomes two graphs (before and after attention) with
this kernel run eagerly between them. Same maths as SDPA: fp32 outputs and gradients agree
to 1e-4, and in bf16 they are as close to the fp32 result as SDPA's own bf16 ones.
"""

from __future__ import annotations

from typing import Any

import torch

BLOCK_POSITIONS = 80
"""Positions per row block: fewer blocks skip less of the masked half, more make the matmuls too thin (80 was fastest at 120-500 tokens)."""

MAX_SAVED_BYTES = 64 * 2**20
"""Largest probability tensor (bytes, per layer call) kept for backward; beyond it SDPA's flash kernel is used."""


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype ``F.linear`` would compute in here: the autocast dtype if autocast is on, else x's."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return x.dtype


_MASKS: dict[tuple[int, int, torch.device], torch.Tensor] = {}


def _diagonal_mask(size: int, groups: int, device: torch.device) -> torch.Tensor:
    """``(size * groups, size)`` bool, True where stacked row ``r`` (position ``r // groups`` of a block) must not see key ``c`` of the same block."""
    key = (size, groups, device)
    if key not in _MASKS:  # blocks are ~BLOCK_POSITIONS long, so this holds a few dozen small masks
        t = torch.arange(size, device=device)
        _MASKS[key] = (t[None, :] > t[:, None]).repeat_interleave(groups, 0)
    return _MASKS[key]


def _block_edges(length: int, block: int) -> list[int]:
    """Position boundaries ``[0, ..., length]`` of near-equal ranges of about ``block`` positions."""
    blocks = max(1, round(length / block))
    return [round(length * i / blocks) for i in range(blocks + 1)]


class StackedCausalAttention(torch.autograd.Function):
    """Causal GQA attention over stacked query heads (see module doc); returns ``(B, T, H, D)`` like HF's kernels."""

    @staticmethod
    def forward(
        ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scaling: float, dtype: torch.dtype, block: int
    ) -> torch.Tensor:
        b, h, t, d = q.shape
        kv = k.shape[1]
        g = h // kv
        qi = torch.empty((b, kv, t, g, d), dtype=dtype, device=q.device)
        qi.copy_(q.view(b, kv, g, t, d).transpose(2, 3)).mul_(scaling)  # (B, KV, T, G, D): rows interleaved
        qi = qi.view(b, kv, t * g, d)
        kc, vc = k.to(dtype), v.to(dtype)
        edges = _block_edges(t, block)
        probs, outs = [], []
        for start, end in zip(edges[:-1], edges[1:], strict=False):
            s = torch.matmul(qi[:, :, start * g : end * g], kc[:, :, :end].transpose(-1, -2))  # (B, KV, R, end)
            s[..., start:end].masked_fill_(_diagonal_mask(end - start, g, q.device), float("-inf"))
            p = torch.softmax(s, dim=-1)
            outs.append(torch.matmul(p, vc[:, :, :end]))  # (B, KV, R, D)
            probs.append(p)
        o = torch.cat(outs, dim=2)  # (B, KV, T*G, D)
        ctx.save_for_backward(qi, kc, vc, *probs)
        ctx.edges, ctx.scaling, ctx.dtypes = edges, scaling, (q.dtype, k.dtype, v.dtype)
        return o.view(b, kv, t, g, d).permute(0, 2, 1, 3, 4).reshape(b, t, h, d)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        qi, kc, vc, *probs = ctx.saved_tensors
        b, kv, tg, d = qi.shape
        t = kc.shape[2]
        g = tg // t
        edges = ctx.edges
        do = grad.reshape(b, t, kv, g, d).permute(0, 2, 1, 3, 4).to(qi.dtype).reshape(b, kv, tg, d)  # (B, KV, T*G, D)
        dq = torch.empty_like(qi)
        dk = torch.zeros_like(kc)
        dv = torch.zeros_like(vc)
        for (start, end), p in zip(zip(edges[:-1], edges[1:], strict=False), probs, strict=False):
            rows = slice(start * g, end * g)
            do_j = do[:, :, rows]
            dv[:, :, :end] += torch.matmul(p.transpose(-1, -2), do_j)
            ds = torch._softmax_backward_data(torch.matmul(do_j, vc[:, :, :end].transpose(-1, -2)), p, -1, p.dtype)
            dq[:, :, rows] = torch.matmul(ds, kc[:, :, :end])
            dk[:, :, :end] += torch.matmul(ds.transpose(-1, -2), qi[:, :, rows])
        q_dtype, k_dtype, v_dtype = ctx.dtypes
        grad_q = dq.view(b, kv, t, g, d).transpose(2, 3).mul(ctx.scaling).to(q_dtype).reshape(b, kv * g, t, d)
        return grad_q, dk.to(k_dtype), dv.to(v_dtype), None, None, None


_stacked_attention = torch.compiler.disable(StackedCausalAttention.apply)
""":class:`StackedCausalAttention`, run eagerly (a graph break) when called from a compiled layer."""

_NEUTRAL_KWARGS = {"position_ids", "use_cache", "cache_position"}
"""Attention kwargs Hugging Face layers pass that do not change the attention maths (anything else must be None/False)."""


def causal_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Hugging Face attention-interface function: :class:`StackedCausalAttention` where it applies, else SDPA.

    It applies to unmasked causal self-attention (no padding mask: :mod:`emlab.train.loss`
    trains right-padded batches without one) on a CPU, computed in the autocast dtype or the
    query's, without dropout or any other attention option (sliding window, soft-capping,
    sinks, ...), while the saved probabilities fit :data:`MAX_SAVED_BYTES`; in a compiled layer
    it runs eagerly between two graphs.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    device = query.device.type
    dtype = compute_dtype(query)
    b, h, t, _ = query.shape
    causal = kwargs.get("is_causal")
    causal = getattr(module, "is_causal", True) if causal is None else causal  # as SDPA's path decides it
    options = [
        k for k, v in kwargs.items() if k not in _NEUTRAL_KWARGS | {"is_causal"} and v is not None and v is not False
    ]
    fits = b * h * t * t * dtype.itemsize // 2 <= MAX_SAVED_BYTES  # roughly the causal half is saved
    if (
        causal is True
        and not options
        and attention_mask is None
        and dropout == 0.0
        and device == "cpu"
        and dtype in (torch.float32, torch.bfloat16, torch.float16)
        and key.shape[2] == t
        and h % key.shape[1] == 0
        and fits
    ):
        return _stacked_attention(
            query, key, value, query.shape[-1] ** -0.5 if scaling is None else scaling, dtype, BLOCK_POSITIONS
        ), None
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)


def use_causal_attention(model: torch.nn.Module) -> bool:
    """Switch a Hugging Face model (or a PEFT model around one) from SDPA to :func:`causal_attention`; return whether it did.

    Only models on the ``sdpa`` implementation are switched (others, e.g. eager or flash on a
    GPU, keep theirs). Padding masks are still built as for SDPA, and any call that carries
    one goes to SDPA.
    """
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    if lm.config._attn_implementation != "sdpa":
        return lm.config._attn_implementation == "emlab_causal"
    AttentionInterface.register("emlab_causal", causal_attention)
    AttentionMaskInterface.register("emlab_causal", sdpa_mask)
    lm.set_attn_implementation("emlab_causal")
    return True
