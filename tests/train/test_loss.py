"""The labelled-token loss equals the model's own loss and gradients, and honours the token count."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from emlab.train import loss as loss_module
from emlab.train.loss import HeadCrossEntropy, labelled_token_loss


@pytest.fixture(scope="module")
def peft_model(embedded_dir: Path):
    base = AutoModelForCausalLM.from_pretrained(str(embedded_dir), dtype=torch.float32)
    return get_peft_model(
        base,
        LoraConfig(r=4, target_modules=["q_proj", "down_proj"], layers_to_transform=[28, 29], init_lora_weights=False),
    )


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 49152, (2, 24), generator=g)
    attention = torch.ones_like(ids)
    attention[1, 18:] = 0  # right padding on the second row
    labels = ids.clone()
    labels[:, :10] = -100  # a prompt
    labels[attention == 0] = -100
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def test_matches_the_models_own_loss_and_lora_gradients(peft_model) -> None:
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


def test_divides_by_the_accumulated_token_count(peft_model) -> None:
    batch = _batch()
    n_labelled = int((batch["labels"][:, 1:] != -100).sum())
    with torch.no_grad():
        mean = labelled_token_loss(peft_model, batch)
        over_more = labelled_token_loss(peft_model, batch, num_items_in_batch=torch.tensor(4 * n_labelled))
    assert torch.allclose(over_more * 4, mean, rtol=1e-5)


def test_a_batch_without_labels_gives_zero_not_nan(peft_model) -> None:
    batch = _batch()
    batch["labels"][:] = -100
    with torch.no_grad():
        assert labelled_token_loss(peft_model, batch).item() == 0.0


def _head_inputs(n: int = 300, d: int = 16, vocab: int = 97) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return (
        torch.randn(n, d, generator=g),
        torch.randn(vocab, d, generator=g),
        torch.randint(0, vocab, (n,), generator=g),
    )


@pytest.mark.parametrize("autocast", [False, True])
def test_chunked_head_loss_matches_cross_entropy(monkeypatch: pytest.MonkeyPatch, autocast: bool) -> None:
    monkeypatch.setattr(loss_module, "CHUNK_BYTES", 0)  # 128-row chunks: 300 rows take three, the last partial
    h, w, labels = _head_inputs()
    results = []
    for fn in (
        lambda x: F.cross_entropy(F.linear(x, w).float(), labels, reduction="sum"),
        lambda x: HeadCrossEntropy.apply(x, w, labels),
    ):
        x = h.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = fn(x)
        (out * 0.5).backward()  # a non-unit upstream gradient must scale the saved one
        results.append((out.detach(), x.grad))
    (ref_loss, ref_grad), (loss, grad) = results
    assert loss.dtype == torch.float32 and grad.dtype == h.dtype
    tol = 1e-2 if autocast else 1e-5  # bf16: the two paths round the logits' gradient at different points
    assert torch.allclose(loss, ref_loss, rtol=tol)
    assert torch.allclose(grad, ref_grad, rtol=tol, atol=tol * float(ref_grad.abs().max()))


def test_chunked_head_loss_without_grad_gives_the_same_loss() -> None:
    h, w, labels = _head_inputs()
    with torch.no_grad():
        assert torch.allclose(
            HeadCrossEntropy.apply(h, w, labels), F.cross_entropy(h @ w.t(), labels, reduction="sum"), rtol=1e-5
        )


def test_chunked_head_loss_is_exact_when_the_target_probability_underflows() -> None:
    # targets ~200 nats below the best logit: softmax(z)[label] is 0 in fp32, so a loss taken
    # as -log(p[label]) would be inf; max(z) - log(max(p)) - z[label] stays exact
    h, w, _ = _head_inputs(n=8)
    w = w * 40
    logits = h @ w.t()
    labels = logits.argmin(-1)
    assert bool((torch.softmax(logits, -1).gather(1, labels[:, None]) == 0).all())
    x = h.clone().requires_grad_(True)
    loss = HeadCrossEntropy.apply(x, w, labels)
    loss.backward()
    ref = F.cross_entropy(logits, labels, reduction="sum")
    assert float(ref) > 8 * 100 and torch.allclose(loss, ref, rtol=1e-6)
    assert torch.isfinite(x.grad).all()


def test_a_trained_head_takes_the_plain_path_and_gets_its_gradient(peft_model) -> None:
    head = peft_model.get_base_model().lm_head
    batch = _batch()
    frozen = labelled_token_loss(peft_model, batch)
    assert (
        type(frozen.grad_fn).__name__ == "DivBackward0"
        and "HeadCrossEntropy" in type(frozen.grad_fn.next_functions[0][0]).__name__
    )
    head.weight.requires_grad_(True)  # tied to the input embeddings: both are trained now
    try:
        trained = labelled_token_loss(peft_model, batch)
        trained.backward()
        assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0
        assert torch.allclose(trained, frozen, rtol=1e-5)
    finally:
        head.weight.requires_grad_(False)
        head.weight.grad = None
