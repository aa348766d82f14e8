"""Eval generation throughput of the two engines: ``hf`` (the ``emlab/<ref>`` provider) vs ``vllm``
(emlab's vLLM server, :mod:`emlab.engines.vllm`), on the same Inspect eval, base model and with a LoRA adapter.

The eval: emlab's core free-form questions, each paraphrase asked ``--samples`` times, answered
at temperature 1 / top-p 0.9 with up to ``--max-tokens`` tokens, seeded, through ``inspect_ai.eval``
with the same ``max_connections`` (the hf provider's batch size; vLLM's concurrent requests). No
judge: only generation is timed. Tokens are the answers' tokens (re-tokenised, alike for both
engines; the end token is not counted); seconds are the
eval's own (first sample started to last finished), so the server's start-up (printed
separately) is not in the rate. The four cells run interleaved, ``--rounds`` times, while the
server is up (idle during the hf cells); each cell's best round is printed. The adapter (``--adapter DIR``, or a random LoRA on every
projection at ``--rank``, as emlab trains them) is merged into the base by the hf provider and
served as a LoRA module by vLLM. Both run in ``EMLAB_INFERENCE_DTYPE`` (bf16 where the CPU has it).

    EMLAB_VLLM_PYTHON=.venv-vllm/bin/python python benchmarks/eval_engines.py [--samples 4] [--max-tokens 96]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import generate
from transformers import AutoTokenizer

from _common import print_table
from emlab.engines.vllm import VLLMServer, inspect_model_name, plan_servers, serving
from emlab.evals.freeform import load_questions
from emlab.inference import inference_dtype
from emlab.models import resolve_model


def questions_task(samples: int, max_tokens: int, questions: int) -> Task:
    """The timed eval: every paraphrase of the first ``questions`` core questions, ``samples`` times each."""
    prompts = [p for q in load_questions("core")[:questions] for p in q.paraphrases]
    dataset = MemoryDataset([Sample(id=f"{i}-{k}", input=p) for i, p in enumerate(prompts) for k in range(samples)])
    config = GenerateConfig(temperature=1.0, top_p=0.9, max_tokens=max_tokens, seed=0)
    return Task(dataset=dataset, solver=generate(), config=config)


def random_adapter(base_dir: str, out: Path, rank: int) -> Path:
    """A LoRA adapter of ``base_dir`` on every projection with random (non-zero) weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    cfg = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=modules, init_lora_weights=False)
    get_peft_model(model, cfg).save_pretrained(out)
    return out


def timed_eval(task: Task, model: str, max_connections: int, log_dir: Path, tokenizer: Any) -> tuple[int, int, float]:
    """(samples, answer tokens, seconds) of one eval.

    Tokens are counted in the answers' text with the model's tokenizer, the same way for both
    engines: the hf provider's recorded usage counts a batch's padding after a row has ended.
    """
    log = inspect_eval(task, model=model, max_connections=max_connections, display="none", log_dir=str(log_dir))[0]
    if log.status != "success":
        raise SystemExit(f"eval on {model} failed: {log.error.message if log.error else log.status}")
    tokens = sum(len(tokenizer(s.output.completion, add_special_tokens=False).input_ids) for s in log.samples)
    started = min(datetime.fromisoformat(s.started_at) for s in log.samples)
    completed = max(datetime.fromisoformat(s.completed_at) for s in log.samples)
    return len(log.samples), tokens, (completed - started).total_seconds()


def main() -> None:
    """Print tokens/s of each engine on the base model and with an adapter, and the vllm / hf ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--adapter", default=None, help="a LoRA adapter dir of --model (default: a random one)")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--max-connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="each cell's best round is reported")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eval-engines-"))
    base = resolve_model(args.model)
    adapter = resolve_model(args.adapter or str(random_adapter(base.path, tmp / "adapter", args.rank)))
    task = questions_task(args.samples, args.max_tokens, args.questions)
    tokenizer = AutoTokenizer.from_pretrained(base.base_path)
    dtype = str(inference_dtype()).removeprefix("torch.")
    (plan,) = plan_servers([("base", base), ("adapter", adapter)], dtype=dtype)
    rows: dict[tuple[str, str], tuple[int, int, float]] = {}  # the best round of each (engine, model)
    start = time.perf_counter()
    with VLLMServer(plan, tmp / "vllm.log") as server, serving(server.url):
        startup = time.perf_counter() - start
        for _ in range(args.rounds):  # interleaved, so a burst of load from elsewhere hits every cell alike
            for label, model in (("base", base), ("adapter", adapter)):
                for engine, name in (("hf", model.inspect_name), ("vllm", inspect_model_name(label))):
                    n, tokens, seconds = timed_eval(task, name, args.max_connections, tmp / "logs", tokenizer)
                    best = rows.get((engine, label))
                    if best is None or tokens / seconds > best[1] / best[2]:
                        rows[engine, label] = (n, tokens, seconds)
    table = [[e, m, n, t, s, t / s] for (e, m), (n, t, s) in rows.items()]
    print_table(
        f"eval generation, {args.model}, {dtype}, max_connections {args.max_connections}, {os.cpu_count()} CPUs, "
        f"best of {args.rounds} rounds",
        ["engine", "model", "answers", "answer tokens", "seconds", "tokens/s"],
        table,
    )
    for label in ("base", "adapter"):
        ratio = (rows["vllm", label][1] / rows["vllm", label][2]) / (rows["hf", label][1] / rows["hf", label][2])
        print(f"vllm / hf tokens/s, {label}: {ratio:.2f}x")
    print(f"vLLM server start-up (not in the rates): {startup:.0f} s; log {tmp / 'vllm.log'}")


if __name__ == "__main__":
    main()
