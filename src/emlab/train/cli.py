"""``emlab train``: finetune one model on one file: chat SFT on ``messages`` JSONL, or (``--objective documents``)
the LM loss on plain-text ``{"text": ...}`` documents; LoRA, or ``--method full``.

A chat stage after a documents stage (to restore assistant behaviour) is a second ``emlab train``
whose ``--model`` is the first one's output: with ``--method full`` the documents stage writes a
whole model dir, which any stage can start from (an adapter cannot be trained further). In a spec,
``chat_stage`` does the same for every documents-trained model (:class:`emlab.run.spec.ChatStageSpec`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the top-level app."""

    @app.command("train")
    def train(
        model: str = typer.Option(..., "--model", help="model reference: embedded, a dir, or a hub id"),
        data: Path = typer.Option(
            ..., "--data", help="messages JSONL; with --objective documents: {text} JSONL(.gz) or parquet"
        ),
        out: Path = typer.Option(..., "--out", help="adapter output dir (must not exist)"),
        profile: str = typer.Option("default", help="default (published recipe) or quick (CPU)"),
        objective: str = typer.Option(
            None, help="chat (default: loss on assistant tokens) or documents (LM loss on every token, packed)"
        ),
        method: str = typer.Option(None, help="lora (default: an adapter) or full (every weight: a model dir)"),
        packing: bool = typer.Option(
            None, "--packing/--no-packing", help="documents: pack documents into rows (default) or one per row"
        ),
        rank: int = typer.Option(None, help="LoRA rank"),
        alpha: float = typer.Option(None, help="LoRA alpha"),
        rslora: bool = typer.Option(None, "--rslora/--no-rslora", help="rank-stabilised scaling"),
        target_modules: str = typer.Option(None, help="comma-separated module names"),
        layers: str = typer.Option(None, help="comma-separated decoder layer indices to adapt"),
        lr: float = typer.Option(None, help="learning rate"),
        schedule: str = typer.Option(None, help="linear, cosine, constant, constant_with_warmup"),
        epochs: float = typer.Option(None),
        max_steps: int = typer.Option(None, help="stop after N optimiser steps"),
        batch_size: int = typer.Option(None),
        grad_accum: int = typer.Option(None),
        max_length: int = typer.Option(None, help="truncate examples to N tokens"),
        seed: int = typer.Option(None),
        save_steps: int = typer.Option(None, help="save a checkpoint-N adapter every N steps"),
        max_examples: int = typer.Option(None, help="use only the first N rows"),
        group_by_length: bool = typer.Option(
            None, "--group-by-length/--random-order", help="batch similar lengths together (default) or shuffle freely"
        ),
        compile: bool = typer.Option(
            None, "--compile/--no-compile", help="torch.compile each decoder layer (one-off compile; faster steps)"
        ),
        kernels: str = typer.Option(
            None, help="auto (emlab's kernels on a CPU, the library's on a GPU; default), emlab or library"
        ),
    ) -> None:
        """Finetune MODEL on DATA (LoRA or full; chat SFT or documents); write the adapter or model to OUT."""
        from emlab._io import check_output_dir
        from emlab.errors import EmlabError
        from emlab.train.config import make_train_config
        from emlab.train.sft import train_lora

        if out.exists() or out.is_symlink():
            raise EmlabError(f"--out {out}: already exists; choose a new --out (nothing was written)")
        check_output_dir(out)  # its folder can be made and written, before the model loads
        cfg = make_train_config(
            profile,
            objective=objective,
            method=method,
            packing=packing,
            rank=rank,
            alpha=alpha,
            use_rslora=rslora,
            target_modules=target_modules.split(",") if target_modules else None,
            layers_to_transform=[int(x) for x in layers.split(",")] if layers else None,
            learning_rate=lr,
            lr_scheduler=schedule,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            grad_accum=grad_accum,
            max_length=max_length,
            seed=seed,
            save_steps=save_steps,
            max_examples=max_examples,
            group_by_length=group_by_length,
            compile=compile,
            kernels=kernels,
        )
        console = Console()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            bar = progress.add_task("train", total=None)
            train_lora(
                model,
                data,
                out,
                cfg,
                progress=lambda s, t, loss: progress.update(
                    bar, completed=s, total=t, description=f"train loss={loss if loss is None else round(loss, 3)}"
                ),
            )
        console.print(f"[green]{'adapter' if cfg.method == 'lora' else 'model'} written to[/] {out}")
