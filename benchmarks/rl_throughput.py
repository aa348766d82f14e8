"""RL throughput: emlab's rollout path vs TRL's default GRPO generation, same run settings.

Two RL runs (:func:`emlab.rl.trainer.run_rl`) that differ only in ``rollout``: ``trl`` (TRL's own
``model.generate`` on the training policy) and ``emlab`` (:func:`emlab.inference.fast_generate` on an
inference copy in bf16-where-fast with the adapter merged each step). Embedded model, ``quick``
profile, one environment. Figures come from each run's ``steps.jsonl``: steps/min over whole
optimiser steps, and rollout tokens/s = completion tokens / seconds inside the rollout (the adapter
merge included for emlab). The first step of each run is a warm-up and is left out.

    python benchmarks/rl_throughput.py [--steps 4] [--env text-keyword] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import print_table
from emlab.rl.config import make_rl_config
from emlab.rl.trainer import read_steps, run_rl


def main() -> None:
    """Run both rollout paths for a few steps each; print steps/min, rollout tokens/s and the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4, help="steps per path (the first is a warm-up)")
    ap.add_argument("--env", default="text-keyword")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--prompts-per-step", type=int, default=2)
    ap.add_argument("--generations", type=int, default=4)
    args = ap.parse_args()
    if args.steps < 2:
        ap.error("--steps must be >= 2 (the first step is a warm-up)")

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rollout in ("trl", "emlab"):
            cfg = make_rl_config(
                "quick",
                envs=[args.env],
                max_steps=args.steps,
                save_steps=args.steps,
                max_new_tokens=args.max_new_tokens,
                prompts_per_step=args.prompts_per_step,
                generations=args.generations,
                prompts_per_env=args.steps * args.prompts_per_step,
                rollout=rollout,
            )
            rows = read_steps(run_rl(cfg, Path(tmp) / rollout))[1:]
            step_s = sum(r["step_seconds"] for r in rows)
            gen_s = sum(r["rollout_seconds"] for r in rows)
            tokens = sum(r["completion_tokens"] for r in rows)
            results[rollout] = (len(rows) / step_s * 60, tokens / gen_s, gen_s / step_s)
    trl, ours = results["trl"], results["emlab"]
    print_table(
        f"RL throughput (embedded model, quick profile, {args.env}, {args.prompts_per_step} prompts x "
        f"{args.generations} generations, max {args.max_new_tokens} new tokens, steps 2-{args.steps})",
        ["rollout path", "steps/min", "rollout tokens/s", "rollout share of step"],
        [
            ["TRL default (model.generate)", *trl],
            ["emlab (fast_generate, merged copy)", *ours],
            ["ratio emlab / TRL", ours[0] / trl[0], ours[1] / trl[1], ""],
        ],
    )
    print("target: rollout tokens/s ratio >= 2 on a CPU")


if __name__ == "__main__":
    main()
