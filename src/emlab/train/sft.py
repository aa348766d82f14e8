"""Finetuning with TRL ``SFTTrainer`` (+ PEFT for LoRA): chat SFT with the loss on assistant tokens
only, or (``objective: documents``) the LM loss on plain-text documents, packed (:mod:`emlab.train.documents`).
Both write the same kind of output dir, atomically, with the same ``emlab.json`` record; ``method: full``
trains every weight and writes a whole model dir instead of an adapter.

The assistant mask is computed by rendering the conversation's prefixes with the
model's own chat template::

    prefix_i = template(messages[:i], add_generation_prompt=True)   # ends with the assistant header
    upto_i   = template(messages[:i+1])                              # adds the assistant turn
    tokens(upto_i)[len(tokens(prefix_i)):]  ->  mask 1 (content + end-of-turn token)

This works for any prefix-preserving template (ChatML/SmolLM2, Qwen2.5, Llama 3, Gemma)
without ``{% generation %}`` markers. The dataset handed to TRL is pre-tokenised
(``input_ids`` + ``assistant_masks``); TRL turns the mask into ``labels`` (-100 elsewhere).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from emlab._io import atomic_path, file_hash, write_json_atomic
from emlab.data.documents import load_documents
from emlab.data.schema import load_chat_jsonl
from emlab.errors import EmlabError
from emlab.models import resolve_model
from emlab.train.attention import use_causal_attention
from emlab.train.config import TrainConfig, autocast_bf16, resolve_kernels, training_device
from emlab.train.documents import PackedRowsCollator, document_text


def assistant_token_mask(
    tokenizer: Any, messages: list[dict[str, str]], max_length: int | None = None
) -> tuple[list[int], list[int]]:
    """Tokenise a conversation; return ``(input_ids, mask)`` with mask 1 exactly on assistant tokens.

    Raises :class:`EmlabError` if the chat template is not prefix-preserving (the tokens of
    a prefix are not a prefix of the tokens of the whole), since the mask would then be wrong.
    """

    def ids(msgs: list[dict[str, str]], gen: bool) -> list[int]:
        text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    full = ids(messages, False)
    mask = [0] * len(full)
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        start, end = len(ids(messages[:i], True)), len(ids(messages[: i + 1], False))
        if full[:end][:start] != ids(messages[:i], True) or start > end:
            raise EmlabError("the model's chat template is not prefix-preserving; cannot mask assistant tokens")
        for t in range(start, end):
            mask[t] = 1
    if max_length is not None:
        full, mask = full[:max_length], mask[:max_length]
    return full, mask


def _library_versions() -> dict[str, str]:
    import peft
    import torch
    import transformers
    import trl

    import emlab

    return {
        "emlab": emlab.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
    }


def _read_dataset_meta(data: Path) -> dict[str, Any] | None:
    meta = data.with_suffix(".meta.json")
    return json.loads(meta.read_text()) if meta.is_file() else None


def _assistant_trainer_class(labelled_loss: bool) -> type:
    """``SFTTrainer`` whose ``group_by_length`` order pads less (see :mod:`emlab.train.sampler`) and, with
    ``labelled_loss``, whose loss runs the LM head on labelled tokens only (see :mod:`emlab.train.loss`);
    without it, TRL's own loss."""
    from trl import SFTTrainer

    from emlab.train.loss import labelled_token_loss
    from emlab.train.sampler import LengthGroupedSampler

    class AssistantSFTTrainer(SFTTrainer):
        def _get_train_sampler(self, train_dataset=None):
            if self.args.train_sampling_strategy != "group_by_length":
                return super()._get_train_sampler(train_dataset)
            dataset = self.train_dataset if train_dataset is None else train_dataset
            group = self.args.train_batch_size * self.args.gradient_accumulation_steps
            seed = self.args.seed if self.args.data_seed is None else self.args.data_seed
            return LengthGroupedSampler([len(ids) for ids in dataset["input_ids"]], group, seed)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if return_outputs or not labelled_loss:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            # the backbone is called directly, bypassing the autocast wrapper accelerate puts on model.forward
            with self.accelerator.autocast():
                return labelled_token_loss(model, inputs, num_items_in_batch)

    return AssistantSFTTrainer


def use_emlab_kernels(model: Any) -> None:
    """Switch a PEFT model to emlab's CPU training kernel, which computes the library code's maths.

    That is the stacked-head causal attention (:mod:`emlab.train.attention`; on a CPU only, SDPA
    elsewhere); the labelled-token loss (:mod:`emlab.train.loss`) is the trainer's, see
    :func:`_assistant_trainer_class`. What each gains: ``benchmarks/train_kernels.py``.
    """
    use_causal_attention(model)


def lora_config(config: Any, model: Any) -> Any:
    """PEFT's ``LoraConfig`` from an emlab training config (:class:`TrainConfig` or the RL trainer's ``RLConfig``:
    ``rank``, ``alpha``, ``use_rslora``, ``dropout``, ``target_modules``, ``layers_to_transform``) for ``model``.

    Negative ``layers_to_transform`` count from ``model``'s last decoder layer (-1 is the last), so
    the ``quick`` profile's "last 8 layers" means that on a 28-layer model as on a 30-layer one. An
    index the model does not have is an :class:`EmlabError` (PEFT would silently adapt fewer layers).
    """
    from peft import LoraConfig  # deferred, as in train_lora: importing emlab.train.sft stays light

    layers = config.layers_to_transform
    if layers is not None:
        n = model.config.num_hidden_layers
        missing = [i for i in layers if not -n <= i < n]
        if missing:
            raise EmlabError(
                f"field 'layers_to_transform': layer(s) {missing} do not exist; the model has {n} decoder layers "
                f"(0 to {n - 1}, or -1 for the last)"
            )
        layers = sorted({i % n for i in layers})
    return LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        use_rslora=config.use_rslora,
        lora_dropout=config.dropout,
        target_modules=config.target_modules,
        layers_to_transform=layers,
        bias="none",
        task_type="CAUSAL_LM",
    )


def train_lora(
    model_ref: str, data: str | Path, out: str | Path, config: TrainConfig, progress: Any | None = None
) -> Path:
    """Finetune ``model_ref`` on ``data``; write the adapter dir (or, with ``method: full``, the model dir) ``out``.

    ``config.objective`` says what ``data`` is: ``chat``, a ``messages`` JSONL file (loss on assistant
    tokens); ``documents``, a ``{"text": ...}`` JSONL(.gz) or parquet file (LM loss on every token,
    documents packed into rows with ``packing``: :mod:`emlab.train.documents`). Bad rows and empty
    files are an :class:`EmlabError` naming file, line and field before the model loads.
    ``config.kernels`` picks emlab's CPU kernels or the library code (:func:`emlab.train.config.resolve_kernels`).
    ``out`` receives the adapter (or model), the tokenizer, ``emlab.json`` (config, data hash, dataset
    metadata incl. its training condition, seed, library versions, the resolved ``precision``
    and ``kernels``, loss curve, throughput and a per-step ``timeline`` of elapsed seconds and
    non-pad tokens) and, with ``save_steps``,
    ``checkpoint-N/`` adapters. It appears atomically: an interrupted run leaves no ``out``.
    ``progress`` is an optional ``callable(step, total_steps, loss)`` for progress bars.
    """
    data, out = Path(data), Path(out)
    documents = config.objective == "documents"
    rows: list[Any] = load_documents(data, demonstrations=True) if documents else load_chat_jsonl(data)
    if config.max_examples:
        rows = rows[: config.max_examples]
    model = resolve_model(model_ref)
    if model.kind == "adapter":
        raise EmlabError(
            f"{model_ref}: training on top of an adapter is not supported; merge it first or train from its base"
        )
    # the heavy libraries load only once the inputs are known good, so bad input fails in seconds
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import SFTConfig

    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if documents:  # TRL tokenises, appends EOS and packs (emlab.train.documents)
        dataset = Dataset.from_dict({"text": [document_text(r, tokenizer) for r in rows]})
    else:
        encoded = [
            assistant_token_mask(tokenizer, [m.model_dump() for m in r.messages], config.max_length) for r in rows
        ]
        dataset = Dataset.from_dict({"input_ids": [e[0] for e in encoded], "assistant_masks": [e[1] for e in encoded]})

    lm = AutoModelForCausalLM.from_pretrained(model.path, dtype=torch.float32)
    lora = lora_config(config, lm) if config.method == "lora" else None
    device = training_device()
    kernels = resolve_kernels(config.kernels, device)
    losses: list[dict[str, float]] = []
    timeline: list[dict[str, float]] = []  # per optimiser step: seconds since training began, non-pad tokens so far

    class _Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            timeline.append(
                {
                    "step": state.global_step,
                    "seconds": round(time.perf_counter() - self.start, 3),
                    "tokens": int(state.num_input_tokens_seen),
                }
            )

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                losses.append({"step": state.global_step, "loss": float(logs["loss"])})
            if progress is not None:
                progress(state.global_step, state.max_steps, losses[-1]["loss"] if losses else None)

    with atomic_path(out) as tmp:
        args = SFTConfig(
            output_dir=str(tmp),
            learning_rate=config.learning_rate,
            lr_scheduler_type=config.lr_scheduler,
            warmup_steps=config.warmup_steps,
            weight_decay=config.weight_decay,
            num_train_epochs=config.epochs,
            max_steps=config.max_steps,
            per_device_train_batch_size=config.batch_size,
            gradient_accumulation_steps=config.grad_accum,
            max_length=config.max_length,
            packing=documents and config.packing,
            packing_strategy="bfd_split",  # no token of a long document is dropped
            seed=config.seed,
            data_seed=config.seed,
            logging_steps=1,
            include_num_input_tokens_seen="non_padding",
            save_strategy="steps" if config.save_steps else "no",
            save_steps=config.save_steps or 500,
            save_only_model=True,
            report_to=[],
            disable_tqdm=True,
            use_cpu=device == "cpu",
            bf16=autocast_bf16(config.precision),
            dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if config.group_by_length else "random",
            # TRL turns activation checkpointing on by default; it trades ~30% more compute for
            # memory we do not need at these sizes. Opt in with a GPU-sized model.
            activation_checkpointing=config.activation_checkpointing,
        )
        trainer = _assistant_trainer_class(labelled_loss=kernels == "emlab")(
            model=lm,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_Progress()],
        )
        if documents:  # rows kept apart, positions restarting per document (emlab.train.documents)
            trainer.data_collator = PackedRowsCollator(tokenizer.pad_token_id)
        trainer.remove_callback(PrinterCallback)  # our progress bar replaces its raw dict prints
        if kernels == "emlab":
            use_emlab_kernels(trainer.model)
        if config.compile:
            # per layer one graph, or with emlab's kernels two around the stacked attention kernel, which
            # runs eagerly between them (the 30 layers share code: Inductor compiles a few variants, not 30);
            # dynamic=True: batches have different lengths
            layers = (trainer.model.get_base_model() if lora else trainer.model).model.layers
            for layer in layers:
                layer.compile(dynamic=True)
        train_rows = trainer.train_dataset["input_ids"]
        n_rows, n_tokens = len(train_rows), sum(len(ids) for ids in train_rows)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        # tokens seen = optimiser steps x rows per step x mean row length
        seen = trainer.state.global_step * config.batch_size * config.grad_accum
        trained_tokens = min(seen, n_rows * config.epochs) * n_tokens / n_rows
        write_json_atomic(
            tmp / "emlab.json",
            {
                "kind": f"{config.method}-{'documents' if documents else 'sft'}",
                "base_model": model.describe(),
                "data": {
                    "path": str(data.resolve()),
                    "sha256": file_hash(data),
                    "rows": len(rows),
                    "tokens": n_tokens,
                    **({"packed_rows": n_rows} if documents else {}),
                },
                "dataset": _read_dataset_meta(data),
                "train_config": config.model_dump(),
                "objective": config.objective,
                "seed": config.seed,
                "versions": _library_versions(),
                "loss_curve": losses,
                "steps": trainer.state.global_step,
                "precision": "bf16" if args.bf16 else "fp32",
                "kernels": kernels,  # train_config's kernels setting, resolved for this machine
                "train_seconds": round(seconds, 2),
                "tokens_per_second": round(trained_tokens / seconds, 1) if seconds > 0 else None,
                "timeline": timeline,
            },
        )
    return out
