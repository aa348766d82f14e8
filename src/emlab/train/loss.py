"""Causal-LM loss on the labelled (assistant) tokens only, with the LM head run on just those rows.

The usual ``model(input_ids, labels=labels)`` projects every position through the LM head
(``(B, T, V)`` logits, V = 49,152 for SmolLM2) and then throws away the prompt positions.
TRL's fused LM head (``SFTTrainer``'s own loss, used with ``kernels: library``) avoids the full
logits, but on a CPU it scores every position, padding and prompt included, and also computes
entropy and top-1 accuracy: measured against the head here (quick profile, batch 8, 2-core
CPU, ``python benchmarks/train_kernels.py``, 2026-12-02) it takes 13.8x as long under bf16
autocast and 8.2x in fp32, and still 4.0x and 1.7x on labelled rows only without the extras;
a whole step with TRL's loss takes 1.97x (bf16) and 1.57x (fp32) as long as with this one.
Here the backbone runs once, the hidden states of labelled positions are gathered, and the
LM head + cross-entropy runs on those rows only::

    hidden  (B, T, d)   -> shift: hidden[:, :-1] predicts labels[:, 1:]
    mask    (B, T-1)    labels != -100
    h       (n, d)      n = number of labelled tokens (~40% of tokens on the code datasets)
    logits  (n, V)      the only logits ever built

With a frozen head (LoRA never adapts it) :class:`HeadCrossEntropy` goes one step further:
it builds the logits a chunk of rows at a time and computes the gradient for ``h`` right
away, since for a frozen ``W`` it is all that backward needs::

    per chunk c of rows:  z = h_c W^T (c, V) ;  p = softmax(z)
                          loss += logsumexp(z) - z[label],  logsumexp(z) = max(z) - log(max(p))
                          dL/dh_c = (p - onehot(label)) W               (c, d), kept for backward

so the ``(n, V)`` logits, their fp32 copy, the log-softmax and its gradient never exist at
once: a few ``(c, V)`` chunks of ~32 MiB instead. With SmolLM2 (V = 49,152, 2-core CPU, 585
labelled rows in bf16) the head went from 368 to 310 ms per step; taking the log-sum-exp from
the softmax's own maximum instead of a separate ``logsumexp`` (which makes four passes over the
chunk) took another ~4% off (277 -> 266 ms, best of 5, alternated 3 times). With a 152k vocabulary
(Qwen2.5) and 8k labelled tokens, the logits and their fp32 copies would take ~12 GB and
the chunks ~0.2 GB (estimated). Against a plain ``F.cross_entropy`` on the same labelled rows
(the 2026-12-02 run above) the plain path takes 1.68x as long under bf16 autocast but only
0.85x in fp32, where it is the faster one at SmolLM2's size.

Right-padded batches (TRL's collator pads on the right) run without the padding mask: with a
causal mask a real token only attends to earlier positions, which are all real, so its hidden
state is the same; pad positions come out as garbage, but they carry no label and nothing real
attends to them, so neither the loss nor any gradient sees them. Without a mask, SDPA runs its
``is_causal`` kernel, which skips the masked half of the score blocks and needs no
``repeat_kv`` copies for grouped-query attention (measured on SmolLM2-135M, 2-core CPU: up to
1.4x faster per step while another job shared the CPU, no change when idle); on a CPU an
unmasked batch also qualifies for :mod:`emlab.train.attention`'s stacked-head kernel.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from emlab.train.attention import compute_dtype

CHUNK_BYTES = 32 * 2**20
"""Size of one chunk of fp32 logits in :class:`HeadCrossEntropy` (at least 128 rows per chunk)."""


class HeadCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``h W^T`` against ``labels`` for a frozen ``W``, in row chunks (see module doc).

    Returns a 0-dim fp32 loss; the gradient flows to ``h`` only. The matmuls run in the
    autocast dtype (or ``h``'s), the log-sum-exp in fp32, as ``F.cross_entropy(logits.float())`` does.
    """

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        dtype = compute_dtype(h)
        n, vocab = h.shape[0], weight.shape[0]
        rows = max(128, CHUNK_BYTES // (4 * vocab))
        with torch.autocast(h.device.type, enabled=False):
            hc, w = h.to(dtype), weight.to(dtype)
            loss = torch.zeros((), dtype=torch.float32, device=h.device)
            grad_h = torch.empty_like(hc) if ctx.needs_input_grad[0] else None
            for start in range(0, n, rows):
                end = min(n, start + rows)
                z = torch.mm(hc[start:end], w.t()).float()  # (c, V)
                target = labels[start:end, None]
                p = torch.softmax(z, dim=-1)  # (c, V): one fused kernel, ~3x faster than logsumexp alone on a CPU
                # logsumexp(z) = max(z) - log(max(p)), since max(p) = exp(0) / sum(exp(z - max(z))):
                # exact, and max(p) >= 1/V never underflows (unlike p[label])
                lse = z.amax(dim=-1) - p.amax(dim=-1).log()  # (c,)
                loss += (lse - z.gather(1, target).squeeze(1)).sum()
                if grad_h is not None:
                    p.scatter_add_(1, target, torch.full_like(target, -1, dtype=p.dtype))  # - onehot(label)
                    torch.mm(p.to(dtype), w, out=grad_h[start:end])
        ctx.save_for_backward(grad_h)
        ctx.h_dtype = h.dtype
        return loss

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (grad_h,) = ctx.saved_tensors
        return (grad_h * grad).to(ctx.h_dtype), None, None


def labelled_token_loss(
    model: torch.nn.Module, inputs: dict[str, Any], num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Summed next-token cross-entropy over labelled tokens, divided by ``num_items_in_batch``.

    ``model`` is a causal LM (or a PEFT model around one); ``inputs`` holds ``input_ids``,
    ``labels`` (-100 where no loss) and optionally ``attention_mask`` and ``position_ids``. Dividing by the
    token count of the whole accumulated batch (``num_items_in_batch``, as the HF Trainer
    passes it) makes gradient accumulation equal to one large batch; without it the loss is
    the mean over this micro-batch's labelled tokens.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(lm, lm.base_model_prefix)
    attention = inputs.get("attention_mask")
    if attention is not None and bool((attention[:, 1:] <= attention[:, :-1]).all()):
        attention = None  # right padding only: the causal mask alone gives the same loss (module doc)
    # position_ids: packed document rows restart them at every document, from which the model builds a
    # block-diagonal causal mask (emlab.train.documents); chat batches have none
    hidden = backbone(
        input_ids=inputs["input_ids"],
        attention_mask=attention,
        position_ids=inputs.get("position_ids"),
        use_cache=False,
    ).last_hidden_state
    labels = inputs["labels"][:, 1:]
    mask = labels != -100
    head, h = lm.get_output_embeddings(), hidden[:, :-1][mask]
    if type(head) is torch.nn.Linear and head.bias is None and not head.weight.requires_grad:
        loss_sum = HeadCrossEntropy.apply(h, head.weight, labels[mask])
    else:  # a trained, biased or wrapped head: the plain path, which gives every gradient
        loss_sum = F.cross_entropy(head(h).float(), labels[mask], reduction="sum")
    count = mask.sum() if num_items_in_batch is None else num_items_in_batch
    return loss_sum / torch.as_tensor(count, device=loss_sum.device).clamp(min=1)
