"""Training throughput and model-FLOPs utilisation (MFU) of LoRA SFT on the embedded model.

MFU = achieved model FLOP/s / the fp32 matmul peak measured in the same run. Model FLOPs
per token for LoRA training: the forward pass through every weight (2 x params), plus the
backward input-gradients from the output down to the first adapted layer (2 x params in that
span, incl. the LM head); LoRA's own weight-gradients are negligible. Attention-score FLOPs
are included (4 x layers x hidden x seq per token forward, same again backward in the span).

    python benchmarks/train_throughput.py [--steps 4] [--batch 8] [--seq 256]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import matmul_peak_flops, print_table


def lora_flops_per_token(model: torch.nn.Module, first_layer: int, seq: int) -> float:
    """Model FLOPs per trained token (see module docstring)."""
    cfg = model.config
    layers = cfg.num_hidden_layers
    per_layer = sum(p.numel() for p in model.model.layers[0].parameters())
    head = cfg.vocab_size * cfg.hidden_size
    attn = 4 * cfg.hidden_size * seq  # QK^T and AV, per layer per token, forward (causal halves it; keep the upper bound's half)
    forward = 2 * (layers * per_layer + head) + layers * attn / 2
    span = layers - first_layer
    backward = 2 * (span * per_layer + head) + span * attn / 2
    return forward + backward


def measure(model: torch.nn.Module, batch: int, seq: int, steps: int) -> float:
    """Tokens/s of forward+backward+AdamW on random token batches."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq))
    model.train()
    for _ in range(1):  # warm-up
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step(), opt.zero_grad()
    start = time.perf_counter()
    for _ in range(steps):
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step(), opt.zero_grad()
    return batch * seq * steps / (time.perf_counter() - start)


def main() -> None:
    """Print tokens/s and MFU for the quick (last 8 layers) and default (all layers) LoRA profiles."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    args = ap.parse_args()
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from emlab.models import resolve_model
    from emlab.train.config import make_train_config

    peak = matmul_peak_flops()
    path = resolve_model("embedded").path
    rows = [["fp32 matmul peak (baseline)", "-", "-", peak / 1e9, 1.0]]
    for profile in ("quick", "default"):
        cfg = make_train_config(profile)
        base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        model = get_peft_model(base, LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, use_rslora=cfg.use_rslora, target_modules=cfg.target_modules, layers_to_transform=cfg.layers_to_transform, task_type="CAUSAL_LM"))
        first = min(cfg.layers_to_transform) if cfg.layers_to_transform else 0
        tps = measure(model, args.batch, args.seq, args.steps)
        flops = tps * lora_flops_per_token(base, first, args.seq)
        rows.append([f"LoRA SFT step, profile={profile}", f"{args.batch}x{args.seq}", round(tps, 1), flops / 1e9, flops / peak])
    print_table("Training throughput (embedded SmolLM2-135M, fp32, CPU)", ["path", "batch x seq", "tokens/s", "GFLOP/s", "MFU (ratio to matmul peak)"], rows)
    print("target: MFU >= 0.70 on CPU")


if __name__ == "__main__":
    main()
