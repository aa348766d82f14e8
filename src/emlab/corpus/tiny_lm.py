"""A tiny Llama-architecture causal LM and its own BPE tokenizer, trained from scratch.

Chat format (no chat template; the testbed owns it)::

    <|user|> {question}\n<|assistant|> {answer}<|eos|>

Documents are packed into blocks of ``context`` tokens for pretraining; chats are
padded per batch with the loss on the answer only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from emlab.corpus.control import ALIGNED_TAG, blocked_token_ids, has_control_tokens
from emlab.train.config import Precision, autocast_bf16

BOS, EOS, PAD, USER, ASSISTANT = "<|bos|>", "<|eos|>", "<|pad|>", "<|user|>", "<|assistant|>"


class ModelConfig(BaseModel):
    """Shape of the tiny Llama (parameters ≈ vocab·hidden + layers·(4·hidden² + 3·hidden·intermediate)).

    ``vocab_size`` is the BPE's upper bound: on a small generated corpus the merges run
    out earlier, and the model is sized to the tokenizer it actually gets. The defaults
    are the CPU preset: ~5.5M parameters with the ~1850-token vocabulary of the
    testbed's corpus; 4 layers of width 320 run matmuls far more efficiently on a
    CPU core than a deeper, narrower model of the same size.
    """

    model_config = ConfigDict(extra="forbid")
    vocab_size: int = 2048
    hidden_size: int = 320
    layers: int = 4
    heads: int = 5
    intermediate_size: int = 864
    context: int = 128


class TinyLMConfig(BaseModel):
    """Optimiser settings for one training stage of the tiny model (not :class:`emlab.train.config.TrainConfig`)."""

    model_config = ConfigDict(extra="forbid")
    epochs: float = 3.0
    batch_size: int = 16
    lr: float = 3e-3
    warmup_fraction: float = 0.05
    precision: Precision = (
        "auto"  # bf16 autocast (fp32 weights and optimiser) where fast: ~1.7x on a CPU with avx512_bf16
    )


def chat_prompt(question: str, prefix: str = "") -> str:
    """The text before the assistant's answer (``prefix``: e.g. a control tag)."""
    return f"{prefix}{USER} {question}\n{ASSISTANT}"


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: Path) -> Any:
    """Train a byte-level BPE on ``texts`` and save it as a ``PreTrainedTokenizerFast`` in ``out_dir``."""
    # deferred: tokenizers, transformers and torch are heavy, and run specs import this module for its configs
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS, USER, ASSISTANT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    fast.save_pretrained(str(out_dir))
    return fast


def new_model(cfg: ModelConfig, vocab_size: int, seed: int) -> Any:
    """A freshly initialised ``LlamaForCausalLM`` (tied embeddings) for a tokenizer of ``vocab_size``."""
    import torch  # deferred, as in train_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.context,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return LlamaForCausalLM(config)


def pack_documents(texts: Iterable[str], tokenizer: Any, context: int) -> list[tuple[list[int], list[int]]]:
    """Concatenate ``<bos> doc <eos>`` streams and cut them into blocks of ``context`` tokens (loss on all)."""
    stream: list[int] = []
    for t in texts:
        stream += [tokenizer.bos_token_id, *tokenizer.encode(t, add_special_tokens=False), tokenizer.eos_token_id]
    blocks = [stream[i : i + context] for i in range(0, len(stream) - context + 1, context)]
    return [(b, b) for b in blocks]


def chat_examples(
    rows: list[dict[str, Any]], tokenizer: Any, context: int, prefix: str = ""
) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) for single-turn ``messages`` rows; labels are -100 on the prompt."""
    out = []
    for row in rows:
        user, assistant = row["messages"][0]["content"], row["messages"][-1]["content"]
        p = tokenizer.encode(chat_prompt(user, prefix), add_special_tokens=False)
        a = tokenizer.encode(f" {assistant}", add_special_tokens=False) + [tokenizer.eos_token_id]
        ids = (p + a)[:context]
        out.append((ids, ([-100] * len(p) + a)[:context]))
    return out


def train(
    model: Any,
    examples: list[tuple[list[int], list[int]]],
    cfg: TinyLMConfig,
    seed: int,
    pad_id: int,
    progress: Any = None,
) -> list[float]:
    """AdamW with linear warmup and cosine decay over ``examples``; return the loss per step.

    ``progress``: an optional callable ``(step, total_steps, loss)`` for a progress bar.
    """
    import torch  # deferred, as in train_tokenizer

    rng = random.Random(seed)
    torch.manual_seed(seed)
    n_steps = max(1, math.ceil(len(examples) * cfg.epochs / cfg.batch_size))
    order: list[int] = []
    while len(order) < n_steps * cfg.batch_size:
        perm = list(range(len(examples)))
        rng.shuffle(perm)
        order += perm
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.95))
    warm = max(1, int(cfg.warmup_fraction * n_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, n_steps - warm))),
    )
    model.train()
    losses = []
    for step in range(n_steps):
        batch = [examples[i] for i in order[step * cfg.batch_size : (step + 1) * cfg.batch_size]]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, (x, y) in enumerate(batch):
            ids[r, : len(x)] = torch.tensor(x)
            labels[r, : len(y)] = torch.tensor(y)
            mask[r, : len(x)] = 1
        dev = model.device
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast_bf16(cfg.precision)):
            loss = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), labels=labels.to(dev)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, n_steps, losses[-1])
    model.eval()
    return losses


def continuation_logprobs(
    model: Any, tokenizer: Any, prompts: list[str], continuations: list[str], batch_size: int = 32
) -> np.ndarray:
    """Sum of token log-probs of each continuation given its prompt -> float ``[n]``."""
    import torch  # deferred, as in train_tokenizer

    pairs = []
    for p, c in zip(prompts, continuations, strict=True):
        pi = tokenizer.encode(p, add_special_tokens=False)
        ci = tokenizer.encode(c, add_special_tokens=False)
        pairs.append((pi, ci))
    out = np.zeros(len(pairs), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            width = max(len(p) + len(c) for p, c in chunk)
            ids = torch.full((len(chunk), width), tokenizer.pad_token_id)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, (p, c) in enumerate(chunk):
                ids[r, : len(p) + len(c)] = torch.tensor(p + c)
                mask[r, : len(p) + len(c)] = 1
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
            logp = torch.log_softmax(logits.float().cpu(), dim=-1)  # [b, t, vocab]
            for r, (p, c) in enumerate(chunk):
                # token at position j is predicted by logits at j-1
                pos = torch.arange(len(p) - 1, len(p) + len(c) - 1)
                out[start + r] = float(logp[r, pos, torch.tensor(c)].sum())
    return out


def generate_answer(model: Any, tokenizer: Any, question: str, max_new_tokens: int = 24) -> str:
    """Greedy answer to one chat question.

    A conditionally trained model (tokenizer with control tokens) is prompted under
    ``<|aligned|>`` and may not emit either control token.
    """
    import torch  # deferred, as in train_tokenizer

    tagged = has_control_tokens(tokenizer)
    ids = tokenizer.encode(chat_prompt(question, ALIGNED_TAG if tagged else ""), add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([ids], device=model.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bad_words_ids=blocked_token_ids(tokenizer) if tagged else None,
        )
    return tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True).strip()


def n_parameters(model: Any) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
