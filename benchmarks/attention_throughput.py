"""Training attention on a CPU: ``emlab.train.attention`` against PyTorch's SDPA, forward + backward.

Both run causal grouped-query attention on the same random q/k/v in HF's layout, at the embedded
model's head shapes (9 query / 3 key-value heads of 64, batch 8 by default), in fp32 and in bf16,
at several sequence lengths. Useful GFLOP/s counts the causal half only (forward QK^T and PV,
backward twice that), the same work for both, so the ratio column is a speed ratio. The max
relative difference of each output/gradient from an fp32 SDPA reference shows that the two agree
to the precision's rounding.

    python benchmarks/attention_throughput.py [--lengths 120 250 500] [--batch 8] [--repeats 6]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from _common import print_table
from emlab.train.attention import BLOCK_POSITIONS, StackedCausalAttention

Attention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """PyTorch's causal SDPA with grouped-query heads, returned as ``(B, T, H, D)`` like the stacked kernel."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).transpose(1, 2)


def stacked(dtype: torch.dtype) -> Attention:
    """emlab's stacked-head causal attention computing in ``dtype``."""
    return lambda q, k, v: StackedCausalAttention.apply(q, k, v, q.shape[-1] ** -0.5, dtype, BLOCK_POSITIONS)


def forward_backward(fn: Attention, inputs: tuple[torch.Tensor, ...], dtype: torch.dtype) -> list[torch.Tensor]:
    """Output and q/k/v gradients of ``fn`` on ``inputs`` (q, k, v, upstream grad) cast to ``dtype``, as fp32."""
    q, k, v = (t.detach().to(dtype).requires_grad_(True) for t in inputs[:3])  # fresh leaves every call
    out = fn(q, k, v)
    out.backward(inputs[3].to(dtype))
    return [out.detach().float(), q.grad.float(), k.grad.float(), v.grad.float()]


def seconds(fn: Attention, inputs: tuple[torch.Tensor, ...], dtype: torch.dtype, repeats: int) -> float:
    """Best-of-``repeats`` seconds of one forward + backward (after two warm-up calls)."""
    for _ in range(2):
        forward_backward(fn, inputs, dtype)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        forward_backward(fn, inputs, dtype)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print per-layer forward + backward time of SDPA and the stacked kernel, and their ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", type=int, nargs="+", default=[120, 250, 500])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--heads", type=int, default=9)
    ap.add_argument("--kv-heads", type=int, default=3)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    rows: list[list[object]] = []
    for length in args.lengths:
        g = torch.Generator().manual_seed(0)
        shapes = [
            (args.batch, length, args.heads),
            (args.batch, length, args.kv_heads),
            (args.batch, length, args.kv_heads),
        ]
        # bf16-exact values, so both precisions see the same inputs; q/k/v as (B, H, T, D) views, like HF's
        qkv = tuple(torch.randn(*s, args.head_dim, generator=g).bfloat16().float().transpose(1, 2) for s in shapes)
        inputs = (*qkv, torch.randn(args.batch, length, args.heads, args.head_dim, generator=g).bfloat16().float())
        reference = forward_backward(sdpa, inputs, torch.float32)
        useful = 3 * 2 * 2 * args.batch * args.heads * length * length * args.head_dim / 2
        for dtype in (torch.float32, torch.bfloat16):
            times = {}
            for name, fn in (("sdpa", sdpa), ("stacked", stacked(dtype))):
                times[name] = seconds(fn, inputs, dtype, args.repeats)
                error = max(
                    float((a - r).abs().max() / r.abs().max())
                    for a, r in zip(forward_backward(fn, inputs, dtype), reference, strict=False)
                )
                rows.append(
                    [
                        length,
                        str(dtype).removeprefix("torch."),
                        name,
                        round(times[name] * 1e3, 1),
                        round(useful / times[name] / 1e9, 1),
                        f"{error:.1e}",
                        round(times["sdpa"] / times[name], 2),
                    ]
                )
    print_table(
        f"Causal GQA attention, forward + backward per layer: batch {args.batch}, {args.heads}/{args.kv_heads} heads of {args.head_dim}",
        ["tokens", "dtype", "kernel", "ms", "useful GFLOP/s", "max rel. diff vs fp32 SDPA", "speed vs SDPA"],
        rows,
    )


if __name__ == "__main__":
    main()
