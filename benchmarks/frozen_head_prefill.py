"""A frozen LM head on a prefill: PyTorch's plain ``linear`` vs :func:`emlab.inference.contiguous_head_input`.

What a merged adapter (an eval of a finetune) and a LoRA policy (TRL's log-probs) have in common:
the head's weight does not require grad. transformers feeds the head a slice of the hidden states
(``logits_to_keep``), which is not contiguous, and for that input PyTorch's ``linear`` broadcasts the
frozen weight to a ``bmm``, copying it once per batch row. The baseline is that library path as it
is; emlab's path adds a forward pre-hook that makes the slice contiguous. Each path runs in its own
process so its peak resident memory (VmHWM, after loading the model) is its own.

    python benchmarks/frozen_head_prefill.py [--model embedded] [--batch 20] [--prompt-len 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import print_table


def _hwm_gb() -> float:
    """This process's peak resident memory so far, GB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1e6 for line in f if line.startswith("VmHWM"))


def measure(model_ref: str, hook: bool, batch: int, prompt_len: int, rounds: int) -> dict[str, float]:
    """Seconds per prefill (logits of the last position) and peak memory above the loaded model, one path."""
    import torch
    from transformers import AutoModelForCausalLM

    from emlab.inference import contiguous_head_input, inference_dtype
    from emlab.models import resolve_model

    model = AutoModelForCausalLM.from_pretrained(resolve_model(model_ref).path, dtype=inference_dtype())
    model.eval().requires_grad_(False)  # as after merge_and_unload, or a LoRA policy's head
    if hook:
        contiguous_head_input(model)
    ids = torch.randint(100, 1000, (batch, prompt_len))
    for p in model.parameters():  # page the (memory-mapped) weights in, so the peak below is the prefill's own
        p.sum()
    loaded = _hwm_gb()
    times = []
    with torch.inference_mode():
        for _ in range(rounds + 1):  # the first is a warm-up
            start = time.perf_counter()
            model(input_ids=ids, logits_to_keep=1)
            times.append(time.perf_counter() - start)
    return {"seconds": sum(times[1:]) / rounds, "peak_gb": _hwm_gb() - loaded}


def main() -> None:
    """Run both paths, each in a fresh process; print seconds per prefill, extra peak memory and the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--prompt-len", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--path", choices=["library", "emlab"], help=argparse.SUPPRESS)  # one path, in the child
    args = ap.parse_args()
    if args.path:
        print(json.dumps(measure(args.model, args.path == "emlab", args.batch, args.prompt_len, args.rounds)))
        return
    results = {}
    for path in ("library", "emlab"):
        out = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--path", path], capture_output=True, text=True, check=True
        )
        results[path] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["library"]
    rows = [
        [name, r["seconds"], r["peak_gb"], base["seconds"] / r["seconds"]]
        for name, r in (
            ("library: linear on the non-contiguous slice (baseline)", results["library"]),
            ("emlab: contiguous_head_input", results["emlab"]),
        )
    ]
    print_table(
        f"Prefill with a frozen head ({args.model}, batch {args.batch} x {args.prompt_len} tokens)",
        ["path", "seconds per prefill", "peak GB above the loaded model", "speed-up"],
        rows,
    )


if __name__ == "__main__":
    main()
