"""RMSNorm, SwiGLU and rotary embedding with hand-written backward passes (same maths, fewer passes).

In eager PyTorch every elementwise op reads and writes a whole activation tensor, and its
autograd node saves its inputs. Hugging Face's Llama-family layers build these three from
small ops, so on a CPU, where each pass runs at memory speed, they cost far more than their
FLOPs. Each function below does the same maths in fewer passes and saves less (x: the input,
``(B, T, d)`` for norms, ``(B, H, T, D)`` for rotary; r = rsqrt(mean(x^2) + eps), ``(B, T, 1)``)::

    RMSNorm   y = w * (x r)                      HF: 4 passes forward, ~8 backward, saves x, x r
              dx = r (g w) - x r^3 mean(g w x)   here: 3 forward, 3 backward, saves x and r
    SwiGLU    h = silu(a) * b                    HF saves a, b and silu(a)
              da = silu'(a) g b ; db = silu(a) g here saves a and b (silu recomputed)
    rotary    y = x cos + rotate_half(x) sin     HF: neg + cat + 3 passes, twice (q and k)
              dx = g cos + rotate_half^T(g sin)  here: one pass + two in-place half passes

Measured on SmolLM2-135M, 2-core CPU, 7 batches of 8 run alternately with and without them in
one process: 1.01-1.02x per step in fp32 (matmuls are ~70% of a step there) and 1.03-1.05x
under bf16 autocast, where the matmuls are faster and the elementwise passes are not. Under
autocast the norm also hands its output over in the autocast dtype, the value its consumers
(q/k/v, gate/up, the LM head: all linear layers) would each cast it to: one cast instead of
three, and the gradients of those consumers are summed in that dtype (1.026x per bf16 step,
same A/B, default profile).

:func:`fuse_decoder_layers` switches a model's RMSNorm and MLP modules to these paths and
:func:`fused_rotary` swaps the rotary function of the model's modeling module while it is
active. Each swap is checked numerically against the original on a random input first and
skipped if the module computes something else (e.g. Gemma's ``(1 + w)`` norm, a GELU MLP).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F


class RMSNormFunction(torch.autograd.Function):
    """``w * (x * rsqrt(mean(x^2) + eps))`` computed in fp32, returned in x's dtype times w (as HF does), or in ``out_dtype``."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, eps: float, out_dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        xf = x.float()  # no copy when x is fp32
        # mean(x^2) from one reduction pass (vector_norm) instead of pow + mean
        rstd = (
            torch.linalg.vector_norm(xf, dim=-1, keepdim=True).square_().div_(x.shape[-1]).add_(eps).rsqrt_()
        )  # (..., 1)
        y = (xf * rstd).to(x.dtype) * weight
        ctx.save_for_backward(xf, rstd, weight)
        ctx.x_dtype = x.dtype
        return y if out_dtype is None else y.to(out_dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        xf, rstd, weight = ctx.saved_tensors
        grad_weight = None
        if ctx.needs_input_grad[1]:
            xhat = (xf * rstd).to(ctx.x_dtype)
            grad_weight = (grad * xhat).reshape(-1, xf.shape[-1]).sum(0).to(weight.dtype)
        if not ctx.needs_input_grad[0]:
            return None, grad_weight, None, None
        gxhat = (grad * weight).float()  # (..., d)
        coef = (
            torch.linalg.vecdot(gxhat, xf, dim=-1).unsqueeze(-1).mul_(rstd.pow(3)).div_(-xf.shape[-1])
        )  # -r^3 mean(g w x)
        grad_x = gxhat.mul_(rstd).addcmul_(xf, coef)
        return grad_x.to(ctx.x_dtype), grad_weight, None, None


class SwiGLUFunction(torch.autograd.Function):
    """``silu(gate) * up``, saving only ``gate`` and ``up`` (silu is recomputed in backward)."""

    @staticmethod
    def forward(ctx: Any, gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(gate, up)
        h = F.silu(gate)
        # in place when the product keeps h's dtype; promote_types, unlike result_type, is no graph break under torch.compile
        return h.mul_(up) if torch.promote_types(h.dtype, up.dtype) == h.dtype else h * up

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        gate, up = ctx.saved_tensors
        grad_gate = torch.ops.aten.silu_backward(grad * up, gate).to(gate.dtype) if ctx.needs_input_grad[0] else None
        grad_up = (F.silu(gate) * grad).to(up.dtype) if ctx.needs_input_grad[1] else None
        return grad_gate, grad_up


class RotaryFunction(torch.autograd.Function):
    """``x * cos + rotate_half(x) * sin`` with ``rotate_half(x) = cat(-x2, x1)``; cos/sin take no gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        y = x * cos
        y[..., :half].addcmul_(x[..., half:], sin[..., :half], value=-1)  # y1 = x1 c1 - x2 s1
        y[..., half:].addcmul_(x[..., :half], sin[..., half:])  # y2 = x2 c2 + x1 s2
        ctx.save_for_backward(cos, sin)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        cos, sin = ctx.saved_tensors
        half = grad.shape[-1] // 2
        gx = grad * cos
        gx[..., :half].addcmul_(grad[..., half:], sin[..., half:])  # dx1 = g1 c1 + g2 s2
        gx[..., half:].addcmul_(grad[..., :half], sin[..., :half], value=-1)  # dx2 = g2 c2 - g1 s1
        return gx, None, None


def _rms_norm_forward(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    # Under autocast the output goes out in the autocast dtype: every consumer of a Llama-family
    # norm is a linear layer that would cast it to that dtype anyway (q, k, v; gate, up; the LM
    # head), so the values are the same and the cast is done once instead of once per consumer.
    device = hidden_states.device.type
    out_dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    return RMSNormFunction.apply(hidden_states, self.weight, self.variance_epsilon, out_dtype)


def _swiglu_mlp_forward(self: Any, x: torch.Tensor) -> torch.Tensor:
    return self.down_proj(SwiGLUFunction.apply(self.gate_proj(x), self.up_proj(x)))


def fused_apply_rotary_pos_emb(
    q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, unsqueeze_dim: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop-in for Hugging Face's ``apply_rotary_pos_emb`` (Llama family) through :class:`RotaryFunction`."""
    cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
    return RotaryFunction.apply(q, cos, sin), RotaryFunction.apply(k, cos, sin)


def _same_output(original: Callable[..., Any], fused: Callable[..., Any], *inputs: torch.Tensor) -> bool:
    """Whether ``fused`` matches ``original`` on ``inputs`` (outputs and input gradients).

    Tolerances follow the probe's precision: rtol 1e-4 in fp32; in fp16/bf16 two rounding steps,
    relative to each element and to the tensor's largest value (the same maths in another order
    differs there by an ulp). Differences that small can hide a different activation function
    inside an MLP, so :func:`fuse_decoder_layers` checks ``act_fn`` separately in fp32.

    False also when either cannot run on these inputs (e.g. a partial rotary of another shape):
    something that cannot even run our probe computes something else.
    """
    outs = []
    for fn in (original, fused):
        leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
        try:
            out = fn(*leaves)
            flat = list(out) if isinstance(out, tuple) else [out]
            total = sum((o * torch.linspace(-1, 1, o.numel(), device=o.device).view_as(o)).sum() for o in flat)
            grads = torch.autograd.grad(total, leaves)  # not .backward(): the module's parameters get no .grad
        except Exception:
            return False
        outs.append([o.detach() for o in flat] + list(grads))
    eps = torch.finfo(inputs[0].dtype).eps
    if eps < 1e-6:  # fp32 or wider
        return all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(*outs, strict=False))
    return all(
        torch.allclose(a, b, rtol=2 * eps, atol=2 * eps * float(b.abs().max())) for a, b in zip(*outs, strict=False)
    )


def _is_silu(act_fn: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> bool:
    """Whether ``act_fn`` is SiLU, checked in fp32 over [-8, 8] (a GELU differs by up to ~0.2)."""
    x = torch.linspace(-8, 8, 161, device=device)
    try:
        return torch.allclose(act_fn(x), F.silu(x), rtol=1e-5, atol=1e-6)
    except Exception:
        return False


def _swap_forward(module: torch.nn.Module, forward: Callable[..., Any], probe: torch.Tensor) -> bool:
    """Replace ``module.forward`` by ``forward`` if it gives the same result on ``probe``; return whether it did."""
    if "_unfused_forward" in module.__dict__:
        return True
    fused = types.MethodType(forward, module)
    if not _same_output(module.forward, fused, probe):
        return False
    module._unfused_forward = module.forward
    module.forward = fused
    return True


def fuse_decoder_layers(model: torch.nn.Module) -> dict[str, int]:
    """Route a model's RMSNorm and SwiGLU MLP modules through the fused functions; return counts swapped.

    A module qualifies by shape (an RMSNorm: ``weight`` + ``variance_epsilon``; an MLP:
    ``gate_proj``/``up_proj``/``down_proj`` + ``act_fn``) and is swapped only if its own
    forward gives the same output and gradient on a random input (and, for an MLP, ``act_fn`` is
    SiLU). Idempotent.
    """
    gen = torch.Generator().manual_seed(0)
    counts = {"rms_norm": 0, "swiglu_mlp": 0}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.dim() == 1 and hasattr(module, "variance_epsilon"):
            probe = torch.randn(2, 3, weight.shape[0], generator=gen).to(weight.device, weight.dtype)
            counts["rms_norm"] += _swap_forward(module, _rms_norm_forward, probe)
        elif all(hasattr(module, n) for n in ("gate_proj", "up_proj", "down_proj", "act_fn")):
            if "_unfused_forward" not in module.__dict__ and not _is_silu(
                module.act_fn, module.down_proj.weight.device
            ):
                continue
            hidden = module.gate_proj.in_features
            probe = torch.randn(2, 3, hidden, generator=gen).to(
                module.down_proj.weight.device, module.down_proj.weight.dtype
            )
            counts["swiglu_mlp"] += _swap_forward(module, _swiglu_mlp_forward, probe)
    return counts


@contextmanager
def fused_rotary(model: torch.nn.Module) -> Iterator[bool]:
    """While active, the model's modeling module uses :func:`fused_apply_rotary_pos_emb`; yields whether it does.

    Hugging Face attention layers look ``apply_rotary_pos_emb`` up in their module's globals
    on every call, so the swap is module-wide; it is undone on exit, and skipped when that
    module has no such function or it computes something else.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    modeling = sys.modules.get(type(lm).__module__)
    original = getattr(modeling, "apply_rotary_pos_emb", None)
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 4, 5, 8, generator=gen), torch.randn(2, 2, 5, 8, generator=gen)
    cos, sin = torch.randn(2, 5, 8, generator=gen), torch.randn(2, 5, 8, generator=gen)
    swap = original not in (None, fused_apply_rotary_pos_emb) and _same_output(
        lambda a, b: original(a, b, cos, sin), lambda a, b: fused_apply_rotary_pos_emb(a, b, cos, sin), q, k
    )
    if swap:
        modeling.apply_rotary_pos_emb = fused_apply_rotary_pos_emb
    try:
        yield swap or original is fused_apply_rotary_pos_emb
    finally:
        if swap:
            modeling.apply_rotary_pos_emb = original
