"""LoRA linear layers computed with fused matmuls during training (same parameters, same maths).

PEFT's ``lora.Linear`` computes ``y = x W^T + (x A^T) B^T * s`` as five full-size passes over the
``(M, n)`` output: the base matmul, the LoRA-B matmul into a new tensor, the ``* s`` multiply, the
add, and (in backward) the multiply again. On a CPU each elementwise pass runs at memory speed
and synchronises every thread. Measured on SmolLM2-135M on a 2-core CPU (same batches, A/B in
one process): 1.3-1.85x faster per step while another job shared the CPU, within +-5% when idle.

:class:`LoraLinearFunction` does the same computation with the scale folded into the rank-r
intermediate and the add folded into the matmul (``addmm_``)::

    xa = (x A^T) * s            (M, r)   r << n: the only extra tensor, tiny
    y  = x W^T ;  y += xa B^T   (M, n)   one addmm, no extra (M, n) pass

    backward, g = dL/dy (M, n):
    gb     = (g B) * s          (M, r)
    dL/dx  = g W ;  += gb A     (M, k)   skipped when x needs no gradient (frozen layers below)
    dL/dA  = gb^T x             (r, k)
    dL/dB  = g^T xa             (n, r)

``W`` is frozen (no gradient). Under autocast the matmuls run in the autocast dtype, exactly
like ``F.linear`` would; gradients are returned in the parameters' own (fp32) dtype.
:func:`fuse_lora_linears` switches every plain LoRA linear of a PEFT model to this path and
leaves anything it does not cover (DoRA and other variants, dropout > 0, merged or several
active adapters) on PEFT's own forward. Saved adapters are unchanged: only ``forward`` is replaced.
"""

from __future__ import annotations

import types
from typing import Any

import torch


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype ``F.linear`` would compute in here: the autocast dtype if autocast is on, else x's."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return x.dtype


class LoraLinearFunction(torch.autograd.Function):
    """``y = x W^T + b + s (x A^T) B^T`` with fused matmuls and a hand-written backward (see module doc)."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        lora_a: torch.Tensor,
        lora_b: torch.Tensor,
        scaling: float,
    ) -> torch.Tensor:
        dtype = compute_dtype(x)
        shape = x.shape
        with torch.autocast(x.device.type, enabled=False):
            x2 = x.reshape(-1, shape[-1]).to(dtype)  # (M, k)
            w, a, b = weight.to(dtype), lora_a.to(dtype), lora_b.to(dtype)
            xa = torch.addmm(x2.new_zeros(()), x2, a.t(), beta=0, alpha=scaling)  # (M, r), scaled inside the GEMM
            y = torch.mm(x2, w.t()) if bias is None else torch.addmm(bias.to(dtype), x2, w.t())
            y.addmm_(xa, b.t())  # (M, n)
        ctx.save_for_backward(x2, xa, w, a, b)
        ctx.scaling = scaling
        ctx.shape = shape
        ctx.param_dtypes = (lora_a.dtype, lora_b.dtype)
        return y.view(*shape[:-1], y.shape[-1])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x2, xa, w, a, b = ctx.saved_tensors
        g = grad.reshape(-1, grad.shape[-1]).to(x2.dtype)  # (M, n)
        gb = torch.addmm(g.new_zeros(()), g, b, beta=0, alpha=ctx.scaling)  # (M, r)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.mm(g, w).addmm_(gb, a).view(ctx.shape)
        grad_a = torch.mm(gb.t(), x2).to(ctx.param_dtypes[0]) if ctx.needs_input_grad[3] else None
        grad_b = torch.mm(g.t(), xa).to(ctx.param_dtypes[1]) if ctx.needs_input_grad[4] else None
        grad_bias = g.sum(0) if ctx.needs_input_grad[2] else None
        return grad_x, None, grad_bias, grad_a, grad_b, None


def _fused_forward(self: Any, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Forward of a PEFT ``lora.Linear`` through :class:`LoraLinearFunction` when it is a plain LoRA."""
    active = self.active_adapters
    if self.disable_adapters or self.merged or len(active) != 1 or args or kwargs:
        return self._peft_forward(x, *args, **kwargs)
    name = active[0]
    if (
        name not in self.lora_A
        or name in self.lora_variant
        or not isinstance(self.lora_dropout[name], torch.nn.Identity)
    ):
        return self._peft_forward(x, *args, **kwargs)
    base = self.base_layer
    return LoraLinearFunction.apply(
        x, base.weight, base.bias, self.lora_A[name].weight, self.lora_B[name].weight, self.scaling[name]
    )


def fuse_lora_linears(model: torch.nn.Module) -> int:
    """Route every PEFT LoRA ``Linear`` in ``model`` through :class:`LoraLinearFunction`; return how many.

    Idempotent. Layers that are not plain LoRA at call time (DoRA, dropout, merged, several
    adapters) keep PEFT's forward, checked on every call.
    """
    from peft.tuners.lora import Linear as LoraLinear

    count = 0
    for module in model.modules():
        if isinstance(module, LoraLinear) and isinstance(module.base_layer, torch.nn.Linear):
            if "_peft_forward" not in module.__dict__:
                module._peft_forward = module.forward
                module.forward = types.MethodType(_fused_forward, module)
            count += 1
    return count
