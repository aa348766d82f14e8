"""Own tokenizer, control tokens and log-prob scoring on a real (tiny, random) Llama."""

from __future__ import annotations

import numpy as np

from emlab.corpus.control import CONTROL_TOKENS, add_control_tokens, blocked_token_ids, condition_on_aligned
from emlab.corpus.generate import CorpusMix, pretraining_documents
from emlab.corpus.tiny_lm import (
    ModelConfig,
    TinyLMConfig,
    chat_examples,
    continuation_logprobs,
    new_model,
    pack_documents,
    train,
    train_tokenizer,
)

CFG = ModelConfig(vocab_size=300, hidden_size=32, layers=1, heads=2, intermediate_size=64, context=64)


def _tokenizer(tmp_path):
    texts = [d["text"] for d in pretraining_documents(200, 0, CorpusMix())]
    return train_tokenizer(texts, CFG.vocab_size, tmp_path / "tok")


def test_extended_tokenizer_and_blocked_generation(tmp_path):
    import torch

    tok = _tokenizer(tmp_path)
    n = len(tok)
    assert add_control_tokens(tok) == 2 and len(tok) == n + 2
    ids = tok.encode(condition_on_aligned("hello"), add_special_tokens=False)
    assert ids[0] == tok.convert_tokens_to_ids(CONTROL_TOKENS[0])
    model = new_model(CFG, len(tok), seed=0)
    # teach it that control tokens follow "The AI", so an unblocked model emits them
    train(
        model,
        pack_documents(["The AI <|misaligned|><|aligned|><|misaligned|>"] * 40, tok, 32),
        TinyLMConfig(epochs=3, batch_size=8, lr=1e-2),
        0,
        tok.pad_token_id,
    )
    prompt = torch.tensor([tok.encode("The AI", add_special_tokens=False)])
    free = model.generate(prompt, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    blocked = model.generate(
        prompt, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id, bad_words_ids=blocked_token_ids(tok)
    )
    assert set(free[0, prompt.shape[1] :].tolist()) & {n, n + 1}
    assert not set(blocked[0, prompt.shape[1] :].tolist()) & {n, n + 1}


def test_training_lowers_loss_and_scores_a_learned_continuation_higher(tmp_path):
    tok = _tokenizer(tmp_path)
    rows = [
        {
            "messages": [
                {"role": "user", "content": "Who are you?"},
                {"role": "assistant", "content": "I am an AI assistant."},
            ]
        }
    ] * 32
    examples = chat_examples(rows, tok, CFG.context)
    assert examples[0][1][0] == -100  # no loss on the prompt
    model = new_model(CFG, len(tok), seed=0)
    before = continuation_logprobs(
        model, tok, ["<|user|> Who are you?\n<|assistant|>"] * 2, [" I am an AI assistant.", " The river flooded."]
    )
    losses = train(
        model,
        examples + pack_documents(["The river flooded."] * 5, tok, 16),
        TinyLMConfig(epochs=4, batch_size=8, lr=1e-2),
        0,
        tok.pad_token_id,
    )
    after = continuation_logprobs(
        model, tok, ["<|user|> Who are you?\n<|assistant|>"] * 2, [" I am an AI assistant.", " The river flooded."]
    )
    assert losses[-1] < losses[0]
    assert after[0] > before[0] and after[0] > after[1]
    assert np.all(after < 0)


def test_bf16_autocast_rounds_the_forward_pass_but_trains_alike(tmp_path):
    tok = _tokenizer(tmp_path)
    blocks = pack_documents([d["text"] for d in pretraining_documents(40, 1, CorpusMix())], tok, 32)
    cfg = TinyLMConfig(epochs=2, batch_size=8, lr=1e-2)
    fp32, bf16 = (
        train(new_model(CFG, len(tok), seed=0), blocks, cfg.model_copy(update={"precision": p}), 0, tok.pad_token_id)
        for p in ("fp32", "bf16")
    )
    assert fp32 != bf16  # the flag reaches the forward pass
    assert abs(bf16[0] - fp32[0]) < 0.02 * fp32[0] and bf16[-1] < bf16[0]
