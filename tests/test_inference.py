"""fast_generate: same tokens as transformers' generate when greedy; retires finished rows; the emlab/ provider."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def model_and_tokenizer(embedded_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(embedded_dir), padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(str(embedded_dir)).eval()
    return model, tok


def _batch(tok, prompts: list[str]):
    texts = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    return tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def test_greedy_matches_transformers_generate(model_and_tokenizer) -> None:
    from emlab.inference import fast_generate

    model, tok = model_and_tokenizer
    enc = _batch(tok, ["Say hi.", "Name three colours of the rainbow, please, in order."])
    ref = model.generate(**enc, max_new_tokens=12, do_sample=False)
    ours = fast_generate(model, enc["input_ids"], enc["attention_mask"], max_new_tokens=12, do_sample=False)
    n = enc["input_ids"].shape[1]
    for i in range(2):
        assert tok.decode(ours.sequences[i, n:], skip_special_tokens=True) == tok.decode(
            ref[i, n:], skip_special_tokens=True
        )


def test_finished_rows_leave_the_batch(model_and_tokenizer) -> None:
    from emlab.inference import fast_generate

    model, tok = model_and_tokenizer
    eos = model.generation_config.eos_token_id
    eos = eos[0] if isinstance(eos, list) else eos
    enc = _batch(tok, ["a", "b", "c"])
    batch_sizes: list[int] = []
    calls = {"n": 0}
    real_forward = model.forward

    def forward(*args, **kwargs):
        out = real_forward(*args, **kwargs)
        batch_sizes.append(kwargs["input_ids"].shape[0])
        calls["n"] += 1
        if calls["n"] == 2:  # after the first sampled token, force row 1 to end next
            out.logits[1, -1, :] = -1e9
            out.logits[1, -1, eos] = 0
        return out

    model.forward = forward
    try:
        out = fast_generate(
            model,
            enc["input_ids"],
            enc["attention_mask"],
            max_new_tokens=6,
            do_sample=True,
            temperature=1.0,
            output_logits=True,
        )
    finally:
        del model.forward
    assert batch_sizes[0] == 3 and batch_sizes[2] == 2  # row 1 retired after emitting EOS
    assert out.sequences.shape[0] == 3 and len(out.logits) == out.sequences.shape[1] - enc["input_ids"].shape[1]
    assert out.logits[0].shape == (3, model.config.vocab_size)
    assert out.finished[1] and out.new_tokens[1] == 1  # one token, then the forced EOS (not counted)
    steps = out.sequences.shape[1] - enc["input_ids"].shape[1]
    for row in (0, 2):  # sampled freely: each either ran to the limit or stopped at its first EOS
        n = int(out.new_tokens[row])
        ended = out.sequences[row, enc["input_ids"].shape[1] :][: n + 1].tolist()
        assert (ended[-1] == eos and n < steps) if out.finished[row] else n == steps
        assert eos not in ended[:n]


def test_rows_with_the_same_prompt_share_one_prefill(model_and_tokenizer) -> None:
    """A GRPO group (one prompt, several rows) is prefilled once; each row then decodes as if prefilled alone."""
    from emlab.inference import fast_generate

    model, tok = model_and_tokenizer
    prompts = ["Say hi.", "Name three colours of the rainbow, please, in order.", "Say hi.", "Say hi."]
    enc = _batch(tok, prompts)
    seen: list[tuple[int, object]] = []
    real_forward = model.forward

    def forward(*args, **kwargs):
        seen.append((kwargs["input_ids"].shape[0], kwargs.get("logits_to_keep")))
        return real_forward(*args, **kwargs)

    model.forward = forward
    try:
        ours = fast_generate(model, enc["input_ids"], enc["attention_mask"], max_new_tokens=8, do_sample=False)
    finally:
        del model.forward
    assert seen[0] == (2, 1)  # two distinct prompts prefilled, the last position's logits only
    assert seen[1][0] == 4  # then all four rows decode
    n = enc["input_ids"].shape[1]
    for i, prompt in enumerate(prompts):
        alone = _batch(tok, [prompt])
        ref = model.generate(**alone, max_new_tokens=8, do_sample=False)[0, alone["input_ids"].shape[1] :]
        assert tok.decode(ours.sequences[i, n:], skip_special_tokens=True) == tok.decode(ref, skip_special_tokens=True)


def test_a_frozen_head_is_not_copied_per_row_in_the_prefill(embedded_dir: Path) -> None:
    """A merged adapter's head is frozen: PyTorch's linear would broadcast it to a bmm on the prefill's slice."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.inference import fast_generate

    tok = AutoTokenizer.from_pretrained(str(embedded_dir), padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(str(embedded_dir)).eval().requires_grad_(False)
    seen: list[bool] = []
    model.get_output_embeddings().register_forward_hook(lambda _m, args, _out: seen.append(args[0].is_contiguous()))
    enc = _batch(tok, ["Say hi.", "Name three colours of the rainbow.", "Why?"])
    vocab = model.get_output_embeddings().weight.shape[0]
    with torch.profiler.profile(record_shapes=True) as prof:
        fast_generate(model, enc["input_ids"], enc["attention_mask"], max_new_tokens=3, do_sample=False)
    assert len(seen) == 3 and all(seen)
    batched_head = [e for e in prof.events() if e.name == "aten::bmm" and vocab in e.input_shapes[1]]
    assert batched_head == []  # without the fix: one bmm over a [3, hidden, vocab] copy of the weight


def test_sampling_follows_the_distribution_and_never_draws_masked_tokens() -> None:
    from emlab.inference import _sample

    torch.manual_seed(0)
    probs = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.2])
    logits = probs.log().repeat(20000, 1)  # log(0) = -inf: masked tokens
    counts = torch.bincount(_sample(logits, True, 1.0, None, None), minlength=5).double() / 20000
    assert counts[1] == counts[3] == 0
    assert torch.allclose(counts, probs.double(), atol=0.015)  # 4+ standard errors
    top_k = torch.bincount(_sample(logits, True, 1.0, 2, None), minlength=5)
    assert set(top_k.nonzero().flatten().tolist()) == {0, 2}
    edge = torch.full((1, 5), float("-inf"))
    edge[0, 0] = 0.0  # one token holds all the mass: whatever the uniform draw, it is that token
    assert all(int(_sample(edge, True, 1.0, None, None)) == 0 for _ in range(50))


def test_top_p_keeps_only_the_nucleus() -> None:
    from emlab.inference import _sample

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.05, 0.05]]))
    draws = {int(_sample(logits, True, 1.0, None, 0.8)) for _ in range(200)}
    assert draws == {0, 1}
    assert int(_sample(logits, False, None, None, None)) == 0


def test_temperature_zero_is_greedy_even_when_asked_to_sample() -> None:
    """Inspect's hf provider sets do_sample whenever a temperature is given; T 0 must not sample at T 1."""
    from emlab.inference import _sample

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([[0.4, 0.3, 0.2, 0.1]]))
    assert {int(_sample(logits, True, 0.0, None, None)) for _ in range(100)} == {0}


def test_provider_merges_adapter_and_generates(tmp_path: Path, chat_jsonl: Path) -> None:
    import asyncio

    from inspect_ai.model import GenerateConfig, get_model

    from emlab.train.config import make_train_config
    from emlab.train.sft import train_lora

    adapter = train_lora(
        "embedded", chat_jsonl, tmp_path / "a", make_train_config("quick", max_steps=1, max_length=48, batch_size=4)
    )
    model = get_model(f"emlab/{adapter}", config=GenerateConfig(max_tokens=5, temperature=1.0), memoize=False)
    assert not any("lora" in name for name, _ in model.api.model.named_parameters())  # merged
    out = asyncio.run(model.generate("Write a function."))
    assert out.completion and out.usage.output_tokens <= 5


def test_seeded_row_answers_do_not_depend_on_batch_or_global_rng(model_and_tokenizer) -> None:
    from emlab.inference import fast_generate

    model, tok = model_and_tokenizer
    short, long_ = "Tell me a short story.", "Tell me a short story about a lighthouse keeper and a storm at sea."

    def answer(prompts: list[str], seeds: list[int], row: int) -> str:
        enc = _batch(tok, prompts)
        torch.manual_seed(len(prompts))  # a different global RNG state for every call
        torch.rand(97)
        out = fast_generate(
            model,
            enc["input_ids"],
            enc["attention_mask"],
            max_new_tokens=10,
            do_sample=True,
            temperature=1.0,
            row_seeds=seeds,
        )
        return tok.decode(out.sequences[row, enc["input_ids"].shape[1] :], skip_special_tokens=True)

    alone = answer([short], [7], 0)
    assert answer([long_, short, long_], [1, 7, 2], 1) == alone  # other rows, other padding, other global RNG
    assert answer([short], [8], 0) != alone  # the seed is what decides


def test_provider_reports_each_answers_own_usage_and_stop_reason(tmp_path: Path) -> None:
    """Inspect's hf provider gives every answer of a batch the batch's padded widths and stop_reason "unknown"."""
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import GenerateConfig, get_model
    from inspect_ai.solver import generate

    samples = [
        Sample(id="short", input="Reply with one word: what colour is the sky?"),
        Sample(
            id="long", input="Write a long essay about the history of the Roman Empire, from its founding to its fall."
        ),
    ]
    task = Task(dataset=samples, solver=generate(), config=GenerateConfig(temperature=0, max_tokens=30))
    model = get_model("emlab/embedded", memoize=False)
    (log,) = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    out = {str(s.id): s.output for s in log.samples}
    assert out["short"].usage.input_tokens < out["long"].usage.input_tokens  # each its own prompt, not the padded width
    assert out["long"].stop_reason == "max_tokens" and out["long"].usage.output_tokens == 30
    assert out["short"].stop_reason == "stop" and 0 < out["short"].usage.output_tokens < 30
    answer = model.api.tokenizer(out["short"].completion, add_special_tokens=False)["input_ids"]
    assert abs(len(answer) - out["short"].usage.output_tokens) <= 1  # the answer's tokens (re-tokenised: +-1)


def _seeded_task(ids_and_prompts: list[tuple[str, str]]):
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.model import GenerateConfig
    from inspect_ai.solver import generate

    samples = [Sample(id=i, input=p) for i, p in ids_and_prompts]
    return Task(dataset=samples, solver=generate(), config=GenerateConfig(temperature=1.0, max_tokens=8, seed=3))


def test_provider_answers_are_per_sample_reproducible(tmp_path: Path) -> None:
    """What a resumed run relies on: a sample's answer does not depend on what ran before or beside it."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    model = get_model("emlab/embedded", memoize=False)
    prompts = [("a", "Name an animal."), ("b", "Name an animal."), ("c", "What is your wish?")]

    def answers(items: list[tuple[str, str]]) -> dict[str, str]:
        (log,) = inspect_eval(_seeded_task(items), model=model, log_dir=str(tmp_path), display="none")
        assert log.status == "success"
        return {str(s.id): s.output.completion for s in log.samples}

    full = answers(prompts)
    torch.manual_seed(1234)
    torch.rand(1000)  # as if a training run had drawn from the global RNG
    assert answers(prompts) == full
    assert answers([prompts[2]]) == {"c": full["c"]}  # alone, as a resumed run would generate it
    assert full["a"] != full["b"]  # same prompt, different samples: different draws


def test_an_eval_loads_the_weights_once_and_eval_to_log_keeps_no_model_alive(
    tmp_path: Path, tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inspect builds a second provider instance to look up a model's name, and memoises the one it evaluates
    with: for a local model that was a second copy of the weights, and one copy per model for a whole run."""
    import gc

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model._providers.hf import HuggingFaceAPI

    from emlab.inference import EmlabLocalModel
    from emlab.run.runner import eval_to_log

    loads: list[str] = []
    load = HuggingFaceAPI.__init__

    def counted(self, model_name: str, *args, **kwargs) -> None:
        loads.append(model_name)
        load(self, model_name, *args, **kwargs)

    monkeypatch.setattr(HuggingFaceAPI, "__init__", counted)
    (log,) = inspect_eval(
        _seeded_task([("a", "Hi.")]), model=f"emlab/{tiny_model}", log_dir=str(tmp_path / "a"), display="none"
    )
    assert log.status == "success" and len(loads) == 1  # the model-info lookup loaded nothing

    def heavy() -> int:  # provider instances holding weights
        gc.collect()
        return sum(isinstance(o, EmlabLocalModel) and hasattr(o, "model") for o in gc.get_objects())

    before = heavy()  # the memoised instance of the plain inspect_eval above stays, as Inspect decides
    copies = [tmp_path / "m0", tmp_path / "m1"]  # other model dirs: a run evaluates several models one after another
    for copy in copies:
        shutil.copytree(tiny_model, copy)
    for i, path in enumerate(copies):
        eval_to_log(
            _seeded_task([("a", "Hi.")]),
            f"emlab/{path}",
            {},
            {},
            tmp_path / f"log{i}.eval",
            {"emlab": {"model_id": f"m{i}"}},
            display="none",
        )
        assert (tmp_path / f"log{i}.eval").is_file()
    assert heavy() - before <= 1  # at most the last one, not one per model evaluated
