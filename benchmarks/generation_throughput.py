"""Evaluation generation throughput: emlab's decoding path vs a naive batched ``model.generate`` loop.

Same model (embedded SmolLM2-135M), same chat prompts (emlab's core questions), same batch
size, same sampling settings (temperature 1, max_new_tokens), same seeds. The baseline is what a
researcher writes by hand: ``from_pretrained`` (float32) and ``generate``. emlab's path is what
the ``emlab/<ref>`` provider does: weights in :func:`emlab.inference.inference_dtype` and
:func:`emlab.inference.fast_generate`. Tokens counted are real generated tokens (up to and
including each row's end token). Also printed: fast_generate alone in float32, to separate the
two effects.

    python benchmarks/generation_throughput.py [--batch 16] [--max-new-tokens 128] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import print_table


def count_generated(seqs: torch.Tensor, prompt_len: int, eos: set[int]) -> int:
    """Generated tokens per row up to and including the first end token."""
    total = 0
    for row in seqs[:, prompt_len:].tolist():
        n = len(row)
        for i, t in enumerate(row):
            if t in eos:
                n = i + 1
                break
        total += n
    return total


def main() -> None:
    """Print tokens/s for naive generate, fast_generate, and the ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.evals.freeform import load_questions
    from emlab.inference import fast_generate, inference_dtype
    from emlab.models import resolve_model

    path = resolve_model("embedded").path
    tok = AutoTokenizer.from_pretrained(path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    dtype = inference_dtype()
    fast_model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval()
    prompts = [p for q in load_questions("core") for p in q.paraphrases][: args.batch]
    texts = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    eos_cfg = model.generation_config.eos_token_id
    eos = set(eos_cfg if isinstance(eos_cfg, list) else [eos_cfg])
    n_prompt = enc["input_ids"].shape[1]

    def naive(seed: int) -> tuple[int, float]:
        torch.manual_seed(seed)
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, do_sample=True, temperature=1.0, max_new_tokens=args.max_new_tokens)
        return count_generated(out, n_prompt, eos), time.perf_counter() - start

    def ours(m: torch.nn.Module):
        def run(seed: int) -> tuple[int, float]:
            torch.manual_seed(seed)
            start = time.perf_counter()
            out = fast_generate(
                m,
                enc["input_ids"],
                enc["attention_mask"],
                max_new_tokens=args.max_new_tokens,
                do_sample=True,
                temperature=1.0,
            )
            return count_generated(out.sequences, n_prompt, eos), time.perf_counter() - start

        return run

    results = {}
    paths = (
        ("naive model.generate, float32 (baseline)", naive),
        ("fast_generate, float32", ours(model)),
        (f"emlab path: fast_generate, {str(dtype).split('.')[-1]}", ours(fast_model)),
    )
    for name, fn in paths:
        fn(0)  # warm-up
        toks, secs = zip(*(fn(100 + r) for r in range(args.rounds)), strict=False)
        results[name] = (sum(toks), sum(secs))
    base = results["naive model.generate, float32 (baseline)"]
    rows = [
        [k, tokens, secs, tokens / secs, (tokens / secs) / (base[0] / base[1])] for k, (tokens, secs) in results.items()
    ]
    print_table(
        f"Generation throughput (embedded model, batch {args.batch}, T=1, max {args.max_new_tokens} new tokens)",
        ["path", "tokens", "seconds", "tokens/s", "ratio to baseline"],
        rows,
    )
    print("target: ratio >= 1.5")


if __name__ == "__main__":
    main()
