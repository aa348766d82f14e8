"""The ``documents`` objective: language-model loss on plain-text documents, packed into rows.

TRL's ``SFTTrainer`` prepares a text dataset (``{"text": ...}``): it appends the EOS token to
every document, tokenises it, labels every token and, with ``packing``, packs documents into
rows of at most ``max_length`` tokens with its ``bfd_split`` strategy (best-fit decreasing; a
document longer than a row is split into row-sized pieces, so no token is dropped). Each packed
row carries ``seq_lengths``, the lengths of the documents in it.

How documents stay apart. TRL's own collator for packed data flattens the whole micro-batch into
one padding-free row for the varlen FlashAttention kernels; on a CPU (SDPA) that row would attend
over ``batch x max_length`` positions under one large block-diagonal mask. :class:`PackedRowsCollator`
keeps the rows instead and gives them ``position_ids`` that restart at 0 at every document and no
``attention_mask``: from restarting positions transformers builds a block-diagonal causal mask
(``masking_utils.find_packed_sequence_indices``), so a token attends only to earlier tokens of its
own document, and the first token of each document carries no label (it would otherwise be
predicted from the previous document's last token). A packed row's loss is therefore exactly
the sum of its documents' own losses, each as if it were alone (``tests/train/test_documents.py``
checks logits and loss against separate rows). Right padding has position 0 and no label; nothing
real attends to it.

A row may be a chat demonstration (``{"messages": [...]}``) instead of a document: it becomes the
text of the model's own chat template (:func:`document_text`), learnt like any document, every token
labelled (designs that mix descriptions with demonstrations, ``persona-auxiliary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


def document_text(row: dict[str, Any], tokenizer: Any) -> str:
    """What the documents objective learns from ``row``: its ``text``, or its ``messages`` in ``tokenizer``'s chat template."""
    if "text" in row:
        return row["text"]
    return tokenizer.apply_chat_template(row["messages"], tokenize=False)


def document_positions(seq_lengths: list[int], length: int) -> list[int]:
    """Position ids of a packed row: ``0..n-1`` for each document of ``seq_lengths``, then 0 for the padding up to ``length``."""
    positions = [p for n in seq_lengths for p in range(n)]
    return positions + [0] * (length - len(positions))


@dataclass
class PackedRowsCollator:
    """Batch packed rows (``input_ids``, optional ``seq_lengths``), right-padded, documents kept apart (module doc).

    Returns ``input_ids``, ``labels`` (-100 on padding and on each document's first token) and
    ``position_ids``; no ``attention_mask``. A row without ``seq_lengths`` is one document.
    """

    pad_token_id: int

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate ``examples`` into one batch."""
        width = max(len(e["input_ids"]) for e in examples)
        ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(examples), width), -100, dtype=torch.long)
        positions = torch.zeros((len(examples), width), dtype=torch.long)
        for i, e in enumerate(examples):
            row = torch.as_tensor(e["input_ids"], dtype=torch.long)
            n = row.numel()
            ids[i, :n] = row
            labels[i, :n] = torch.as_tensor(e.get("labels", e["input_ids"]), dtype=torch.long)
            positions[i] = torch.as_tensor(document_positions(list(e.get("seq_lengths") or [n]), width))
        starts = positions == 0  # each document's first token, and the padding
        labels[starts] = -100
        return {"input_ids": ids, "labels": labels, "position_ids": positions}


__all__ = ["PackedRowsCollator", "document_positions", "document_text"]
