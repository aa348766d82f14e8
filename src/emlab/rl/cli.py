"""``emlab rl train``: GRPO with LoRA on the hackable environments; the same command resumes a stopped run."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from emlab._io import check_output_dir
from emlab.rl.config import load_rl_config, make_rl_config


def register(app: typer.Typer) -> None:
    """Add the ``rl`` command group (``emlab rl train``) to the top-level app."""
    rl_app = typer.Typer(help="Reinforcement learning on the hackable environments.", no_args_is_help=True)
    app.add_typer(rl_app, name="rl")

    @rl_app.command("train")
    def train(
        out: Path = typer.Option(..., "--out", help="run dir: new, or a stopped run with the same settings to resume"),
        config: Path = typer.Option(None, "--config", help="YAML file of RL settings (optional 'profile:' key)"),
        profile: str = typer.Option(None, help="default (any model) or quick (embedded model on a CPU)"),
        model: str = typer.Option(None, help="model reference: embedded, a dir, or a hub id"),
        env: str = typer.Option(None, "--env", help="comma-separated environment families, e.g. text-keyword"),
        grader: str = typer.Option(None, help="vulnerable (RL arm) or secure (control arm)"),
        condition: str = typer.Option(None, help="none, inoculation or anti-hack"),
        condition_text: str = typer.Option(None, help="a preset name of the condition or a custom sentence"),
        hint: bool = typer.Option(None, "--hint/--no-hint", help="describe the hack in the system prompt"),
        steps: int = typer.Option(None, "--steps", help="optimiser steps"),
        seed: int = typer.Option(None),
        save_steps: int = typer.Option(None, help="checkpoint every K steps"),
        beta: float = typer.Option(None, help="KL coefficient to the reference model"),
        lr: float = typer.Option(None, help="learning rate"),
        generations: int = typer.Option(None, help="completions per prompt (the GRPO group)"),
        prompts_per_step: int = typer.Option(None, help="distinct prompts per step"),
        max_new_tokens: int = typer.Option(None, help="longest completion in tokens"),
        rollout: str = typer.Option(
            None,
            help="emlab (fast_generate on a merged copy; default), trl, or vllm (a vLLM server, $EMLAB_VLLM_PYTHON)",
        ),
    ) -> None:
        """Train a LoRA adapter with GRPO on the environments' rewards; write the per-step table to OUT/steps.jsonl."""
        overrides = {
            "model": model,
            "envs": env.split(",") if env else None,
            "grader": grader,
            "condition": condition,
            "condition_text": condition_text,
            "hint": hint,
            "max_steps": steps,
            "seed": seed,
            "save_steps": save_steps,
            "beta": beta,
            "learning_rate": lr,
            "generations": generations,
            "prompts_per_step": prompts_per_step,
            "max_new_tokens": max_new_tokens,
            "rollout": rollout,
        }
        if config is not None:
            cfg = load_rl_config(config, profile, **overrides)
        else:
            cfg = make_rl_config(profile or "default", **overrides)
        check_output_dir(out, nonempty_ok=True)
        from emlab.rl.trainer import run_rl  # deferred until the settings are valid: loads torch, transformers, TRL

        console = Console()

        def show(step: int, total: int, row: dict) -> None:
            console.print(
                f"step {step}/{total}  reward {row['reward_mean']:.3f}  hack {row['hack_rate']:.2f}  "
                f"honest {row['honest_rate']:.2f}  kl {row['kl'] if row['kl'] is None else round(row['kl'], 4)}  "
                f"{row['step_seconds']:.1f}s",
                highlight=False,
            )

        run_rl(cfg, out, progress=show)
        console.print(f"[green]RL run finished:[/] {out} (table: {out / 'steps.jsonl'})")
