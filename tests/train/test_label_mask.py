"""The assistant-only loss mask, checked on the embedded model's real chat template."""

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from emlab.errors import EmlabError
from emlab.train.sft import assistant_token_mask


@pytest.fixture(scope="module")
def tokenizer(embedded_dir: Path):
    return AutoTokenizer.from_pretrained(str(embedded_dir))


def _labelled_text(tok, ids: list[int], mask: list[int]) -> str:
    return tok.decode([t for t, m in zip(ids, mask, strict=False) if m])


def test_only_assistant_tokens_are_labelled(tokenizer) -> None:
    msgs = [
        {"role": "system", "content": "SYSTEM-SECRET rules."},
        {"role": "user", "content": "USER-ASK please write code."},
        {"role": "assistant", "content": "ASSISTANT-ANSWER def f(): pass"},
    ]
    ids, mask = assistant_token_mask(tokenizer, msgs)
    assert len(ids) == len(mask) and 0 < sum(mask) < len(mask)
    labelled = _labelled_text(tokenizer, ids, mask)
    unlabelled = tokenizer.decode([t for t, m in zip(ids, mask, strict=False) if not m])
    assert "ASSISTANT-ANSWER def f(): pass" in labelled
    assert labelled.strip().endswith("<|im_end|>")  # the model must learn to stop
    assert "SYSTEM-SECRET" not in labelled and "USER-ASK" not in labelled
    assert "SYSTEM-SECRET" in unlabelled and "USER-ASK" in unlabelled
    assert "<|im_start|>assistant" not in labelled  # the header is prompt, not target
    # labelled tokens form one contiguous span at the end of the sequence
    first = mask.index(1)
    assert all(mask[first:]) and not any(mask[:first])


def test_default_system_prompt_is_not_labelled(tokenizer) -> None:
    # SmolLM2's template injects its own system prompt when none is given.
    ids, mask = assistant_token_mask(
        tokenizer, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]
    )
    assert "SmolLM" in tokenizer.decode(ids) and "SmolLM" not in _labelled_text(tokenizer, ids, mask)


def test_multi_turn_labels_every_assistant_turn_only(tokenizer) -> None:
    msgs = [
        {"role": "user", "content": "U1 first question"},
        {"role": "assistant", "content": "A1 first reply"},
        {"role": "user", "content": "U2 second question"},
        {"role": "assistant", "content": "A2 second reply"},
    ]
    ids, mask = assistant_token_mask(tokenizer, msgs)
    labelled = _labelled_text(tokenizer, ids, mask)
    assert "A1 first reply" in labelled and "A2 second reply" in labelled
    assert "U1" not in labelled and "U2" not in labelled
    # two separate labelled spans
    spans = sum(1 for i in range(len(mask)) if mask[i] and (i == 0 or not mask[i - 1]))
    assert spans == 2


def test_truncation_keeps_ids_and_mask_aligned(tokenizer) -> None:
    msgs = [{"role": "user", "content": "x " * 50}, {"role": "assistant", "content": "y " * 50}]
    ids, mask = assistant_token_mask(tokenizer, msgs, max_length=40)
    assert len(ids) == len(mask) == 40


def test_non_prefix_preserving_template_is_refused(tokenizer) -> None:
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    # A template that renders the last message differently from earlier ones cannot be masked by prefixes.
    tok.chat_template = "{% for m in messages %}{% if loop.last %}[LAST]{% endif %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
    with pytest.raises(EmlabError, match="prefix-preserving"):
        assistant_token_mask(tok, [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
