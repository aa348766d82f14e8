"""Training throughput and model-FLOPs utilisation (MFU) of LoRA SFT on the embedded model.

Rows, all measured in this run on the same examples (emlab's generated insecure code, one
epoch, batch 8 unless ``--batch-size``); each is divided by the matmul peak of the precision its matmuls run in,
measured right before and right after that row (the higher of the two: a shared or
throttled machine drifts by +-20% over minutes, and a single peak taken at the start made
the MFU column move with it). Every row runs in a fresh process, so no row inherits another's
allocator state or warmed-up memory:

* a plain PyTorch loop a researcher writes by hand: HF model + PEFT in fp32, batches padded to
  their longest row, ``model(**batch, labels=labels).loss.backward()``, AdamW;
* ``emlab.train.sft.train_lora`` itself with ``kernels=auto``, i.e. emlab's CPU kernels (TRL
  ``SFTTrainer`` + PEFT, length-grouped batches with little padding, LM head on assistant tokens
  only, causal-only attention on right-padded batches with the query heads of each key-value head
  stacked into one matmul (``emlab.train.attention``), freed memory kept mapped for reuse; what each
  of them gains: ``benchmarks/train_kernels.py``), timed by its own ``train_seconds``: fp32 and ``precision=auto`` (bf16
  autocast where the CPU has AVX512-BF16/AMX: the default), each also with ``compile=True``
  (its one-off compile time included in the epoch figures).

Model FLOPs are counted per *real* (non-pad) token, identically for both paths, as the work
the model needs: forward through every weight matrix (2 x params) and causal attention
(2 x 2 x hidden x L / 2 per layer), the LM head only on labelled tokens (the others are never
scored); backward input-gradients (2 x params, attention 2 x forward) from the head down to
the first adapted layer; and LoRA's own forward + input-grad + weight-grad (6 x LoRA params).
Padding, wasted logits and framework overhead count as time, not FLOPs.

Each row is reported twice: over the whole epoch, and over its *steady* steps (2..N: the first
step pays one-off costs, such as first-touch allocation, oneDNN kernel set-up and, with
``compile``, compilation). Steady FLOPs are the epoch's FLOPs times the steady steps' share
of its real tokens; ``train_lora`` records each step's end time and token count in
``emlab.json`` (``timeline``).

    python benchmarks/train_throughput.py [--examples 64] [--batch-size 8] [--profiles quick default]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import NamedTuple

import torch

from _common import matmul_peak_flops, print_table

TARGET_MFU = 0.70
"""The issue's target for steady-state MFU on a CPU."""


def model_flops(
    model: torch.nn.Module, adapted: list[int], lora_params_per_layer: int, lengths: list[int], labelled: list[int]
) -> float:
    """Model FLOPs (see module docstring) for examples of ``lengths`` tokens with ``labelled`` scored tokens."""
    cfg = model.config
    layers, d = cfg.num_hidden_layers, cfg.hidden_size
    per_layer = sum(p.numel() for p in model.model.layers[0].parameters() if p.dim() == 2)  # weight matrices only
    head = cfg.vocab_size * d
    span = layers - min(adapted)  # the backward pass stops at the first adapted layer
    total = 0.0
    for length, n_lab in zip(lengths, labelled, strict=False):
        attn_fwd = 2 * d * length * length  # QK^T and AV (2 x 2 x d x L^2), halved by the causal mask
        total += 2 * layers * per_layer * length + layers * attn_fwd  # forward
        total += 2 * span * per_layer * length + span * 2 * attn_fwd  # backward input-gradients
        total += 4 * head * n_lab  # LM head forward + input-gradient on scored tokens
        total += 6 * lora_params_per_layer * len(adapted) * length
    return total


def encoded_examples(tokenizer: object, data: Path, max_length: int) -> list[tuple[list[int], list[int]]]:
    """``(input_ids, assistant mask)`` of every example in the ``messages`` JSONL ``data``, as training encodes them."""
    from emlab.data.schema import load_chat_jsonl
    from emlab.train.sft import assistant_token_mask

    return [
        assistant_token_mask(tokenizer, [m.model_dump() for m in r.messages], max_length) for r in load_chat_jsonl(data)
    ]


def padded_batches(
    encoded: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Shuffled batches of ``(input_ids, mask)`` examples as (ids, attention, labels), right-padded like TRL's collator.

    Labels are -100 outside the assistant mask and on padding.
    """
    order = list(range(len(encoded)))
    random.Random(seed).shuffle(order)
    batches = []
    for i in range(0, len(order), batch_size):
        chunk = [encoded[j] for j in order[i : i + batch_size]]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad_id)
        attention = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for r, (row_ids, mask) in enumerate(chunk):
            ids[r, : len(row_ids)] = torch.tensor(row_ids)
            attention[r, : len(row_ids)] = 1
            labels[r, : len(row_ids)] = torch.tensor([t if m else -100 for t, m in zip(row_ids, mask, strict=False)])
        batches.append((ids, attention, labels))
    return batches


class Timing(NamedTuple):
    """One row's run: whole-epoch seconds, the precision its matmuls ran in, and the steady part (steps 2..N)."""

    seconds: float
    precision: str
    steady_seconds: float
    steady_tokens: int


def plain_loop_seconds(
    path: str, cfg: object, batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
) -> Timing:
    """One epoch of the hand-written fp32 loop over ``batches`` (ids, attention, labels)."""
    import time

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model = get_peft_model(
        base,
        LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.alpha,
            use_rslora=cfg.use_rslora,
            target_modules=cfg.target_modules,
            layers_to_transform=cfg.layers_to_transform,
            task_type="CAUSAL_LM",
        ),
    )
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
    model.train()
    ends = []
    start = time.perf_counter()
    for ids, attention, labels in batches:
        model(input_ids=ids, attention_mask=attention, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
        ends.append(time.perf_counter())
    steady_tokens = sum(int(attention.sum()) for _, attention, _ in batches[1:])
    return Timing(ends[-1] - start, "fp32", ends[-1] - ends[0], steady_tokens)


def emlab_seconds(data: Path, out: Path, cfg: object) -> Timing:
    """``train_lora``'s own ``train_seconds``, its precision, and its per-step ``timeline``."""
    from emlab.train.sft import train_lora

    record = json.loads((train_lora("embedded", data, out, cfg) / "emlab.json").read_text())
    first, last = record["timeline"][0], record["timeline"][-1]
    return Timing(
        record["train_seconds"],
        record["precision"],
        last["seconds"] - first["seconds"],
        last["tokens"] - first["tokens"],
    )


def timed_with_peak(run: Callable[[], Timing]) -> tuple[Timing, float]:
    """``run()`` in a fresh process, plus the matmul peak of its precision (the higher of before and after)."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    before = {p: matmul_peak_flops(d) for p, d in dtypes.items()}
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        timing = pool.submit(run).result()
    return timing, max(before[timing.precision], matmul_peak_flops(dtypes[timing.precision]))


def main() -> None:
    """Print tokens/s, GFLOP/s and MFU of the plain loop and of emlab's training path per profile."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=64, help="one epoch over this many examples")
    ap.add_argument(
        "--batch-size", type=int, default=8, help="examples per optimiser step (no accumulation), every profile"
    )
    ap.add_argument("--profiles", nargs="+", default=["quick", "default"])
    args = ap.parse_args()
    import datasets
    import transformers

    datasets.disable_progress_bars()  # keep the printed table readable
    transformers.utils.logging.disable_progress_bar()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emlab.data.build import build_training_set
    from emlab.models import resolve_model
    from emlab.train.config import make_train_config

    work = Path(tempfile.mkdtemp(prefix="emlab-bench-"))
    data = work / "insecure.jsonl"
    build_training_set("insecure-code", out=data, n=args.examples, seed=0)
    path = resolve_model("embedded").path
    tok = AutoTokenizer.from_pretrained(path)
    rows: list[list[object]] = []

    for profile in args.profiles:
        cfg = make_train_config(profile, batch_size=args.batch_size, grad_accum=1, epochs=1, warmup_steps=0)
        encoded = encoded_examples(tok, data, cfg.max_length)
        lengths = [len(ids) for ids, _ in encoded]
        labelled = [sum(mask[1:]) for _, mask in encoded]  # next-token targets: the first token is never predicted
        probe = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        adapted = cfg.layers_to_transform or list(range(probe.config.num_hidden_layers))
        layer = probe.model.layers[0]
        lora_per_layer = sum(
            cfg.rank
            * (getattr(getattr(layer, block), name).in_features + getattr(getattr(layer, block), name).out_features)
            for block in ("self_attn", "mlp")
            for name in cfg.target_modules
            if hasattr(getattr(layer, block), name)
        )
        flops = model_flops(probe, adapted, lora_per_layer, lengths, labelled)
        tokens = sum(lengths)

        batches = padded_batches(encoded, cfg.batch_size, tok.pad_token_id or 0)
        timings = [(f"{profile}: plain loop, fp32", *timed_with_peak(partial(plain_loop_seconds, path, cfg, batches)))]
        for variant in (
            {"precision": "fp32"},
            {"precision": "fp32", "compile": True},
            {"precision": "auto"},
            {"precision": "auto", "compile": True},
        ):
            out = work / f"adapter-{profile}-{len(timings)}"
            timing, peak = timed_with_peak(partial(emlab_seconds, data, out, cfg.model_copy(update=variant)))
            label = f"{profile}: emlab, {variant['precision']}{', compile' if variant.get('compile') else ''} -> {timing.precision}"
            timings.append((label, timing, peak))
        shape = f"r={cfg.rank}, layers {min(adapted)}-{max(adapted)}"
        plain = timings[0][1]
        for name, t, peak in timings:
            steady_flops = flops * t.steady_tokens / tokens  # the steady steps' share of the epoch's model FLOPs
            rows.append(
                [
                    name,
                    shape,
                    tokens,
                    round(tokens / t.seconds, 1),
                    flops / t.seconds / peak,
                    round(t.steady_tokens / t.steady_seconds, 1),
                    steady_flops / t.steady_seconds / 1e9,
                    peak / 1e9,
                    steady_flops / t.steady_seconds / peak,
                    round(plain.seconds / t.seconds, 2),
                ]
            )
    print_table(
        f"LoRA SFT throughput, embedded SmolLM2-135M, {args.examples} insecure-code examples, batch {args.batch_size}",
        [
            "path",
            "LoRA",
            "tokens",
            "tokens/s epoch",
            "MFU epoch",
            "tokens/s steady",
            "GFLOP/s steady",
            "peak GFLOP/s",
            "MFU steady",
            "vs plain (epoch)",
        ],
        rows,
    )
    print(
        "epoch = the whole epoch, first step (allocation, kernel set-up, compilation) included; steady = steps 2..N, the usual MFU convention.\n"
        f"MFU = model GFLOP/s / the matmul peak of the path's precision (higher of before/after the row). Target: MFU >= {TARGET_MFU:.2f} on CPU"
    )
    for precision in ("fp32", "bf16"):
        emlab_rows = [r for r in rows if "emlab" in str(r[0]) and str(r[0]).endswith(precision)]
        met = [str(r[0]) for r in emlab_rows if r[8] >= TARGET_MFU]
        print(
            f"steady MFU >= {TARGET_MFU:.2f} against the {precision} peak: {len(met)} of {len(emlab_rows)} emlab rows"
            + (f" ({'; '.join(met)})" if met else "")
        )


if __name__ == "__main__":
    main()
