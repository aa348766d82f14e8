"""The labelled-token loss equals the model's own loss and gradients, and honours the token count."""

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from emlab.train.loss import labelled_token_loss


@pytest.fixture(scope="module")
def peft_model(embedded_dir: Path):  # noqa: ANN201
    base = AutoModelForCausalLM.from_pretrained(str(embedded_dir), dtype=torch.float32)
    return get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "down_proj"], layers_to_transform=[28, 29], init_lora_weights=False))


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 49152, (2, 24), generator=g)
    attention = torch.ones_like(ids)
    attention[1, 18:] = 0  # right padding on the second row
    labels = ids.clone()
    labels[:, :10] = -100  # a prompt
    labels[attention == 0] = -100
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def test_matches_the_models_own_loss_and_lora_gradients(peft_model) -> None:  # noqa: ANN001
    batch = _batch()
    peft_model.zero_grad()
    reference = peft_model(**batch).loss
    reference.backward()
    ref_grads = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    peft_model.zero_grad()
    ours = labelled_token_loss(peft_model, batch)
    ours.backward()
    assert torch.allclose(ours, reference, rtol=1e-5, atol=1e-5)
    for name, grad in ref_grads.items():
        got = dict(peft_model.named_parameters())[name].grad
        assert torch.allclose(got, grad, rtol=1e-3, atol=1e-6), name


def test_divides_by_the_accumulated_token_count(peft_model) -> None:  # noqa: ANN001
    batch = _batch()
    n_labelled = int((batch["labels"][:, 1:] != -100).sum())
    with torch.no_grad():
        mean = labelled_token_loss(peft_model, batch)
        over_more = labelled_token_loss(peft_model, batch, num_items_in_batch=torch.tensor(4 * n_labelled))
    assert torch.allclose(over_more * 4, mean, rtol=1e-5)


def test_a_batch_without_labels_gives_zero_not_nan(peft_model) -> None:  # noqa: ANN001
    batch = _batch()
    batch["labels"][:] = -100
    with torch.no_grad():
        assert labelled_token_loss(peft_model, batch).item() == 0.0
