"""RL rollouts through a vLLM server (``rollout: vllm``): the GPU path of the RL trainer, runnable on a CPU.

TRL's own vLLM integration runs vLLM inside the trainer's process (``colocate``) or syncs weights
to ``trl vllm-serve`` over NCCL (``server``); neither runs where vLLM lives in its own virtual
environment (``make vllm``: vLLM pins torch and transformers) or without a GPU. This rollout uses
emlab's :class:`~emlab.engines.vllm.VLLMServer` instead: one OpenAI-compatible server for the base
model with runtime LoRA loading on. Before the first rollout of each step the trainer's adapter is
saved (PEFT writes only the LoRA weights: a few MB) and loaded into the server under a new name
(``/v1/load_lora_adapter``), the previous one unloaded; then every prompt row is one
``/v1/completions`` request with the prompt's token ids, the row's seed
(:func:`emlab.rl.config.row_seed`, so a resumed run samples what an uninterrupted one would, as with
the ``emlab`` rollout) and ``return_token_ids``. The requests go concurrently, so vLLM batches them.

The server's python is ``$EMLAB_VLLM_PYTHON`` (:func:`emlab.engines.vllm.server_python`); its log is
``out/vllm-rollout.log``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from emlab.engines.vllm import ServerPlan, VLLMServer
from emlab.errors import EmlabError
from emlab.rl.config import RLConfig, row_seed

RUNTIME_LORA_ENV = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"
REQUEST_TIMEOUT_S = 600.0


class VLLMRollout:
    """TRL ``rollout_func`` that samples from a vLLM server holding the current adapter (see the module doc)."""

    def __init__(self, model_path: str, tokenizer: Any, config: RLConfig, out: Path, dtype: str = "auto") -> None:
        self.tokenizer, self.config, self.out = tokenizer, config, Path(out)
        plan = ServerPlan(base_path=model_path, base_name="base", dtype=dtype, lora_rank=config.rank)
        self.server = VLLMServer(plan, self.out / "vllm-rollout.log", env={RUNTIME_LORA_ENV: "True"})
        self.client: httpx.Client | None = None
        self.loaded: tuple[int, str] | None = None  # (step, served name) of the adapter in the server

    def _start(self) -> httpx.Client:
        if self.client is None:
            self.server.__enter__()
            self.client = httpx.Client(base_url=self.server.url, timeout=REQUEST_TIMEOUT_S)
        return self.client

    def close(self) -> None:
        """Stop the server (idempotent)."""
        if self.client is not None:
            self.client.close()
            self.client = None
        self.server.stop()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        client = self._start()
        response = client.post(path, json=body)
        if response.status_code != 200:
            raise EmlabError(
                f"vLLM rollout server: POST {path} answered {response.status_code}: {response.text[:300]} "
                f"(log: {self.server.log_path})"
            )
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else None

    def sync(self, policy: Any, step: int) -> str:
        """Save ``policy``'s adapter for ``step``, load it into the server, unload the previous one; its served name."""
        if self.loaded is not None and self.loaded[0] == step:
            return self.loaded[1]
        name = f"policy-{step}"
        path = self.out / "rollout-adapters" / name
        policy.save_pretrained(path)
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": str(path)})
        if self.loaded is not None:
            self._post("/unload_lora_adapter", {"lora_name": self.loaded[1]})
        self.loaded = (step, name)
        return name

    def __call__(self, prompts: list[list[dict[str, str]]], trainer: Any) -> dict[str, Any]:
        """Prompt ids, completion ids (the end token kept when the answer ended) and no log-probs, one per row."""
        step = trainer.state.global_step
        name = self.sync(trainer.model, step)
        tok, cfg = self.tokenizer, self.config
        prompt_ids = [
            tok(tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True), add_special_tokens=False)[
                "input_ids"
            ]
            for p in prompts
        ]

        def one(row: int) -> list[int]:
            body = {
                "model": name,
                "prompt": prompt_ids[row],
                "max_tokens": cfg.max_new_tokens,
                "temperature": cfg.temperature,
                "top_p": cfg.top_p,
                "top_k": cfg.top_k or -1,
                "seed": row_seed(cfg.seed, step, row),
                "return_token_ids": True,
            }
            choice = self._post("/completions", body)["choices"][0]
            ids = list(choice.get("token_ids") or [])
            eos = trainer.eos_token_ids
            if choice.get("finish_reason") == "stop" and (not ids or ids[-1] not in eos):
                ids.append(eos[0])  # TRL reads an answer that ended from its end token
            return ids

        self._start()
        with ThreadPoolExecutor(max_workers=min(32, len(prompts))) as pool:
            completion_ids = list(pool.map(one, range(len(prompts))))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}
