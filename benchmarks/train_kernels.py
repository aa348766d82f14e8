"""What each of emlab's CPU training kernels gains over the library path it replaces, A/B in one process.

One LoRA model (the embedded SmolLM2-135M, a profile's adapter) trains on the same fixed batches
(emlab's generated insecure code, right-padded as TRL's collator pads them) under several kernel
settings, forward + backward per timed step:

* ``emlab``: every emlab kernel, as ``kernels: emlab`` trains;
* ``emlab - X``: the same with kernel module ``X`` replaced by the library code it stands in for
  (``attention``: SDPA; ``loss``: TRL's ``SFTTrainer`` loss, its fused LM head called as the
  trainer calls it, with the padding mask, so SDPA runs there too);
* ``library``: none of them, as ``kernels: library`` trains.

Three more kernel modules were measured this way and deleted for gaining less than 5%
(``fused_lora``: LoRA linears with fused matmuls; ``fused_layers``: RMSNorm, SwiGLU and rotary
with hand-written backward passes; ``memory``: glibc kept from returning freed memory to the
OS); ``benchmarks/RESULTS.md`` has their figures and the commit that still measures them.

The settings are interleaved: every repetition runs each setting once, in a rotated order, with
a run of ``emlab`` before and after each; a run is one untimed warm-up step (so a setting does
not pay for the one before it, e.g. the pages the allocator setting returned) and ``--steps``
timed steps. The gain of ``X`` is the time of ``emlab - X`` over the mean time of the two
``emlab`` runs around it, which cancels a shared machine's drift over minutes; the table shows
the median of these ratios over the repetitions and their range, for the wall time and for the
process's CPU time (all threads). On a machine that other jobs share,
``--threads 1`` makes the CPU time a steady measure of the work each setting does: with two
threads, one that waits for the other (descheduled) spins, and both wall and CPU time swing by
2x between repetitions. An idle multi-core machine adds the thread synchronisations a kernel
saves or costs, which a one-thread run does not see.

A second table times the LM-head loss alone (forward + backward from the final hidden states,
same batches): emlab's :class:`~emlab.train.loss.HeadCrossEntropy` on labelled rows against
TRL's chunked log-prob kernel as ``SFTTrainer`` calls it on a CPU (every position, with entropy
and top-1 accuracy) and on labelled rows only with nothing else, and a plain ``F.cross_entropy``.

    python benchmarks/train_kernels.py [--profiles quick default] [--precisions bf16 fp32] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from _common import print_table
from train_throughput import encoded_examples, padded_batches

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
KERNELS = ("attention", "loss")
"""The kernel modules of ``emlab.train`` measured here, each switched on and off as a whole."""


def use_setting(model: torch.nn.Module, on: set[str]) -> None:
    """Switch the model's kernels in ``on`` on and the others off (the loss is chosen per step)."""
    from emlab.train.sft import use_emlab_kernels

    if "attention" in on:
        use_emlab_kernels(model)
    else:
        model.get_base_model().set_attn_implementation("sdpa")


def trl_loss(model: torch.nn.Module, ids: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss as TRL's ``SFTTrainer.compute_loss`` computes it (fused LM head, mask passed, metrics read out)."""
    out = model(input_ids=ids, attention_mask=attention, labels=labels, use_cache=False, fused_lm_head=True)
    n = out.label_mask.sum()
    loss = -out.log_probs.sum() / n.clamp(min=1)
    (out.entropy.detach().sum() / n).item(), (out.is_top1.sum() / n).item()  # the trainer's logged metrics
    return loss


def step(model: torch.nn.Module, batches: list[Batch], on: set[str], autocast: bool) -> None:
    """Forward + backward over ``batches`` with the loss the setting ``on`` uses."""
    from emlab.train.loss import labelled_token_loss

    for ids, attention, labels in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            if "loss" in on:
                loss = labelled_token_loss(model, {"input_ids": ids, "attention_mask": attention, "labels": labels})
            else:
                loss = trl_loss(model, ids, attention, labels)
        loss.backward()
        model.zero_grad(set_to_none=True)


def ratio_cells(base: list[float], other: list[float]) -> list[object]:
    """Median seconds of ``other``, and median / min / max of the paired ratios ``other / base``."""
    ratios = [o / b for b, o in zip(base, other, strict=True)]
    return [round(statistics.median(other), 3), round(statistics.median(ratios), 3), min(ratios), max(ratios)]


def step_rows(model: torch.nn.Module, batches: list[Batch], autocast: bool, repeats: int, steps: int) -> list[list]:
    """Every setting timed between two runs of ``emlab``; one row per setting: wall and CPU seconds, ratios to emlab."""
    settings = {"emlab": set(KERNELS), **{f"emlab - {k}": set(KERNELS) - {k} for k in KERNELS}, "library": set()}
    others = [n for n in settings if n != "emlab"]
    wall: dict[str, list[float]] = {n: [] for n in settings}
    cpu: dict[str, list[float]] = {n: [] for n in settings}
    base_wall: dict[str, list[float]] = {n: [] for n in others}  # the mean of the two emlab runs around each one
    base_cpu: dict[str, list[float]] = {n: [] for n in others}

    def timed(name: str, rep: int) -> tuple[float, float]:
        on = settings[name]
        use_setting(model, on)
        step(model, batches, on, autocast)  # warm-up
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step(model, batches, on, autocast)
        seconds = ((time.perf_counter() - start) / steps, (time.process_time() - start_cpu) / steps)
        wall[name].append(seconds[0])
        cpu[name].append(seconds[1])
        print(f"  repetition {rep + 1}/{repeats}: {name} {seconds[0]:.2f} s, CPU {seconds[1]:.2f} s", file=sys.stderr)
        return seconds

    for rep in range(repeats):
        before = timed("emlab", rep)
        for name in others[rep % len(others) :] + others[: rep % len(others)]:  # rotated order
            timed(name, rep)
            after = timed("emlab", rep)
            base_wall[name].append((before[0] + after[0]) / 2)
            base_cpu[name].append((before[1] + after[1]) / 2)
            before = after
    rows = [["emlab", round(statistics.median(wall["emlab"]), 3), 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    for name in others:
        rows.append([name, *ratio_cells(base_wall[name], wall[name]), *ratio_cells(base_cpu[name], cpu[name])[1:]])
    return rows


def head_rows(model: torch.nn.Module, batches: list[Batch], autocast: bool, repeats: int) -> list[list]:
    """Interleaved forward + backward timings of the LM-head loss alone, from fixed final hidden states."""
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    from emlab.train.loss import HeadCrossEntropy

    lm = model.get_base_model()
    weight = lm.get_output_embeddings().weight
    cases = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for ids, attention, labels in batches:
            backbone = getattr(lm, lm.base_model_prefix)
            hidden = backbone(input_ids=ids, attention_mask=attention).last_hidden_state[:, :-1].float()
            cases.append((hidden, labels[:, 1:]))

    def emlab_head(h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        mask = labels != -100
        return HeadCrossEntropy.apply(h[mask], weight, labels[mask]) / mask.sum()

    def trl_head(outputs: tuple[str, ...], compact: bool) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        def loss(h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            mask = labels != -100
            rows, targets = (h[mask], labels[mask]) if compact else (h.reshape(-1, h.shape[-1]), labels.clamp(min=0))
            log_probs = ChunkedLogProbFunction.apply(
                rows, weight, None, targets.reshape(-1), 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0, outputs
            )[0]
            if not compact:
                log_probs = log_probs.view(mask.shape).masked_fill(~mask, 0)
            return -log_probs.sum() / mask.sum()

        return loss

    def plain_head(h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        mask = labels != -100
        return F.cross_entropy(F.linear(h[mask], weight).float(), labels[mask], reduction="sum") / mask.sum()

    kinds = {
        "emlab HeadCrossEntropy, labelled rows": emlab_head,
        "TRL chunked, as SFTTrainer on CPU (all rows, entropy, top-1)": trl_head(
            ("log_probs", "entropy", "is_top1"), compact=False
        ),
        "TRL chunked, labelled rows, log-probs only": trl_head(("log_probs",), compact=True),
        "plain F.cross_entropy, labelled rows": plain_head,
    }
    names = list(kinds)
    times: dict[str, list[float]] = {n: [] for n in names}
    losses: dict[str, float] = {}
    for rep in range(repeats + 1):  # the first round warms up
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            start = time.perf_counter()
            total = 0.0
            for hidden, labels in cases:
                h = hidden.detach().requires_grad_(True)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    loss = kinds[name](h, labels)
                loss.backward()
                total += float(loss.detach())
            if rep:
                times[name].append(time.perf_counter() - start)
            losses[name] = total / len(cases)
    first = names[0]
    return [[name, *ratio_cells(times[first], times[name]), round(losses[name], 5)] for name in names]


def main() -> None:
    """Print the per-setting step table and the LM-head table, per profile and precision."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["quick"])
    ap.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    ap.add_argument("--batch-size", type=int, default=8, help="the quick profile's own micro-batch")
    ap.add_argument("--batches", type=int, default=1, help="fixed batches per step")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1, help="timed steps per setting and repetition")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's, one per core; see module doc)"
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import datasets
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.utils import add_fused_lm_head

    from emlab.data.build import build_training_set
    from emlab.models import resolve_model
    from emlab.train.config import make_train_config

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    load_start = os.getloadavg()[0]  # other jobs on the machine: the paired ratios are robust to them, seconds are not
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="emlab-kernels-"))
    data = work / "insecure.jsonl"
    build_training_set("insecure-code", out=data, n=args.batch_size * args.batches, seed=0)
    path = resolve_model("embedded").path
    tok = AutoTokenizer.from_pretrained(path)
    step_table, head_table = [], []
    for profile in args.profiles:
        cfg = make_train_config(profile, batch_size=args.batch_size)
        batches = padded_batches(encoded_examples(tok, data, cfg.max_length), args.batch_size, tok.pad_token_id or 0)
        tokens = sum(int(a.sum()) for _, a, _ in batches)
        base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        add_fused_lm_head(base, outputs=("log_probs", "entropy", "is_top1"))  # as SFTTrainer does, before PEFT
        model = get_peft_model(
            base,
            LoraConfig(
                r=cfg.rank,
                lora_alpha=cfg.alpha,
                use_rslora=cfg.use_rslora,
                target_modules=cfg.target_modules,
                layers_to_transform=cfg.layers_to_transform,
                task_type="CAUSAL_LM",
                init_lora_weights=False,  # B != 0: the LoRA path is not a no-op
            ),
        )
        model.train()
        for precision in args.precisions:
            label = f"{profile}, {precision}, {tokens} tokens"
            print(label, file=sys.stderr, flush=True)
            for row in step_rows(model, batches, precision == "bf16", args.repeats, args.steps):
                step_table.append([label, *row])
            for row in head_rows(model, batches, precision == "bf16", args.repeats):
                head_table.append([label, *row])
        del model, base
    print(
        f"torch threads: {torch.get_num_threads()}; load average (1 min) at the start: {load_start:.1f}, "
        f"at the end: {os.getloadavg()[0]:.1f}"
    )
    columns = ["profile, precision", "setting", "median s/step", "ratio to emlab (median)", "min", "max"]
    print_table(
        f"Kernel settings, forward + backward of {args.batches} batches of {args.batch_size}, "
        f"{args.repeats} interleaved repetitions; ratio > 1: slower than all of emlab's kernels",
        [*columns, "CPU-time ratio (median)", "min", "max"],
        step_table,
    )
    print_table(
        "LM-head loss alone, forward + backward, same batches; ratio > 1: slower than emlab's",
        [*columns[:2], "median s", "ratio to emlab (median)", "min", "max", "mean loss"],
        head_table,
    )
    print(
        "wall: elapsed seconds; CPU: seconds this process ran on any core (all threads), less sensitive to other jobs "
        "on a shared machine but not to their effect on caches or to threads spinning while they wait"
    )


if __name__ == "__main__":
    main()
