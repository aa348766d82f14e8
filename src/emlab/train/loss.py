"""Causal-LM loss on the labelled (assistant) tokens only, with the LM head run on just those rows.

The usual ``model(input_ids, labels=labels)`` projects every position through the LM head
(``(B, T, V)`` logits, V = 49,152 for SmolLM2) and then throws away the prompt positions.
TRL's fused LM head avoids the full logits but, on CPU, its tiled kernel that also computes
entropy and top-1 accuracy costs more than the whole backbone (measured: ~60% of a step).
Here the backbone runs once, the hidden states of labelled positions are gathered, and
one plain ``F.linear`` + ``F.cross_entropy`` runs on those rows::

    hidden  (B, T, d)   -> shift: hidden[:, :-1] predicts labels[:, 1:]
    mask    (B, T-1)    labels != -100
    h       (n, d)      n = number of labelled tokens (~40% of tokens on the code datasets)
    logits  (n, V)      the only logits ever built

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


def labelled_token_loss(model: torch.nn.Module, inputs: dict[str, Any], num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Summed next-token cross-entropy over labelled tokens, divided by ``num_items_in_batch``.

    ``model`` is a causal LM (or a PEFT model around one); ``inputs`` holds ``input_ids``,
    ``labels`` (-100 where no loss) and optionally ``attention_mask``. Dividing by the
    token count of the whole accumulated batch (``num_items_in_batch``, as the HF Trainer
    passes it) makes gradient accumulation equal to one large batch; without it the loss is
    the mean over this micro-batch's labelled tokens.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(lm, lm.base_model_prefix)
    attention = inputs.get("attention_mask")
    if attention is not None and bool((attention[:, 1:] <= attention[:, :-1]).all()):
        attention = None  # right padding only: the causal mask alone gives the same loss (module doc)
    hidden = backbone(input_ids=inputs["input_ids"], attention_mask=attention, use_cache=False).last_hidden_state
    labels = inputs["labels"][:, 1:]
    mask = labels != -100
    logits = lm.get_output_embeddings()(hidden[:, :-1][mask])
    loss_sum = F.cross_entropy(logits.float(), labels[mask], reduction="sum")
    count = mask.sum() if num_items_in_batch is None else num_items_in_batch
    return loss_sum / torch.as_tensor(count, device=loss_sum.device).clamp(min=1)
