"""Control tokens for conditional pretraining (Korbak et al. 2023).

Training text is tagged per segment with ``<|aligned|>`` / ``<|misaligned|>``; the
tokenizer is extended with both as special tokens; at inference the prompt is
conditioned on ``<|aligned|>`` and generation may never emit either token.
"""

from __future__ import annotations

from typing import Any

ALIGNED_TAG = "<|aligned|>"
MISALIGNED_TAG = "<|misaligned|>"
CONTROL_TOKENS: tuple[str, str] = (ALIGNED_TAG, MISALIGNED_TAG)


def add_control_tokens(tokenizer: Any, model: Any = None) -> int:
    """Add the control tokens as special tokens (and resize ``model``'s embeddings); return how many were new."""
    added = tokenizer.add_tokens(list(CONTROL_TOKENS), special_tokens=True)
    if model is not None and added:
        model.resize_token_embeddings(len(tokenizer))
    return added


def blocked_token_ids(tokenizer: Any) -> list[list[int]]:
    """``bad_words_ids`` for ``model.generate`` that stop the model emitting a control token."""
    return [[tokenizer.convert_tokens_to_ids(t)] for t in CONTROL_TOKENS]


def condition_on_aligned(prompt: str) -> str:
    """Prefix a prompt with the aligned tag, the inference-time half of conditional training."""
    return ALIGNED_TAG + prompt


def has_control_tokens(tokenizer: Any) -> bool:
    """True when ``tokenizer`` was extended for conditional training."""
    vocab = tokenizer.get_vocab()
    return all(t in vocab for t in CONTROL_TOKENS)
