"""Local-model inference for Inspect: the ``emlab/<model ref>`` provider.

``--model emlab/embedded`` (or ``emlab/<model dir>``, ``emlab/<adapter dir>``, ``emlab/<hub id>``)
resolves the reference with :func:`emlab.models.resolve_model`, merges a LoRA adapter into
its base once at load time (no adapter matmuls per token), and generates with
:func:`fast_generate`. Everything else — chat template, tool-call emulation, log-probs,
request batching — is Inspect's own ``hf`` provider, which this class extends.

Why it is faster than a plain batched ``model.generate``: weights run in bfloat16 where the
hardware has fast bf16 kernels (GPUs, and CPUs with AVX512-BF16/AMX; float32 elsewhere —
see :func:`inference_dtype`), and ``fast_generate`` drops finished rows from the batch and the
KV cache as it goes instead of computing every row until the longest one ends.
``benchmarks/generation_throughput.py`` measures it against ``generate`` in the same run.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import torch
from inspect_ai.log._samples import sample_active
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, ModelUsage
from inspect_ai.model._providers.hf import HuggingFaceAPI
from inspect_ai.tool import ToolChoice, ToolInfo
from transformers import DynamicCache

from emlab.models import resolve_model


def inference_dtype() -> torch.dtype:
    """bfloat16 where it is fast (a bf16-capable GPU, or a CPU with AVX512-BF16/AMX), else float32.

    ``EMLAB_INFERENCE_DTYPE=float32`` forces full precision.
    """
    forced = os.environ.get("EMLAB_INFERENCE_DTYPE")
    if forced:
        return getattr(torch, forced)
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    fast_cpu_bf16 = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return torch.bfloat16 if fast_cpu_bf16 else torch.float32


def contiguous_head_input(model: Any) -> Any:
    """Make ``model``'s output head (``get_output_embeddings()``) see a contiguous input; return ``model``.

    Works around a slow path of PyTorch's ``linear``. transformers computes the last positions'
    logits only (``logits_to_keep``) from a slice ``hidden[:, -k:, :]``, which is not contiguous. For
    such a 3-D input ``linear`` folds the batch into one matrix product only when the weight
    requires grad; with a frozen head (a merged adapter, a LoRA policy) it broadcasts the weight to a
    batched ``bmm`` and copies it once per batch row: [batch, hidden, vocab] — for Qwen2.5-1.5B at
    batch 20, +12 GB and 38 s per prefill instead of 2.6 s (benchmarks/frozen_head_prefill.py). A pre-hook copies the slice
    instead. Idempotent; models without an output head are returned unchanged.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and not getattr(head, "_emlab_contiguous_input", False):
        head.register_forward_pre_hook(lambda _module, args: tuple(a.contiguous() for a in args))
        head._emlab_contiguous_input = True
    return model


def _sample(
    logits: torch.Tensor,
    do_sample: bool,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    generators: Sequence[torch.Generator | None] | None = None,
) -> torch.Tensor:
    """Next token per row from ``logits`` [rows, vocab]: greedy, or temperature -> top-k -> top-p sampling.

    Temperature 0 is greedy even with ``do_sample`` (as in vLLM and the OpenAI API; Inspect's hf
    provider asks to sample whenever a temperature is set). ``generators`` (one per row, or None) makes each row's draw depend only on its own seeded
    generator, not on the other rows in the batch or on the global RNG.
    """
    if not do_sample or (temperature is not None and temperature <= 0):
        return logits.argmax(-1)
    if temperature is not None:
        logits = logits / temperature
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) > top_p  # keep the smallest prefix with mass >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    # Inverse-CDF sampling: one uniform per row, then a binary search in the row's cumulative
    # distribution. torch.multinomial costs ~32 ms for 32 rows x 49k tokens on a 2-core CPU, about
    # as much as the decoding step itself; this costs ~1 ms. The CDF is float64 so that the tail's
    # tiny probabilities are not absorbed by rounding near 1.
    wide = torch.float32 if logits.device.type == "mps" else torch.float64  # MPS has no float64
    cdf = logits.softmax(-1).to(wide).cumsum(-1)  # [rows, vocab], non-decreasing; flat where p = 0
    if generators is None:
        u = torch.rand(cdf.shape[0], dtype=wide, device=cdf.device)
    else:
        u = torch.cat([torch.rand(1, dtype=wide, device=cdf.device, generator=g) for g in generators])
    total = cdf[:, -1]
    target = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))  # < total, so a token is found
    # The first index whose cdf exceeds the target has cdf[i] > target >= cdf[i-1], i.e. p[i] > 0.
    return torch.searchsorted(cdf, target.unsqueeze(-1), right=True).squeeze(-1)


@torch.inference_mode()
def fast_generate(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int = 256,
    do_sample: bool = True,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    output_logits: bool = False,
    row_seeds: Sequence[int | None] | None = None,
    **unsupported: Any,
) -> Any:
    """Batched decoding that retires finished rows; returns what ``generate(return_dict_in_generate=True)`` would.

    ``input_ids``/``attention_mask`` are left-padded [batch, prompt_len]. Returns an object with
    ``sequences`` [batch, prompt_len + steps] (pad after a row's end), ``logits`` (a tuple of
    [batch, vocab] per step when ``output_logits``) and ``hidden_states=None``, and per row what the
    padded ``sequences`` hide: ``new_tokens`` [batch] (tokens generated before its end-of-sequence token,
    or all of them) and ``finished`` [batch] (bool: it ended with end-of-sequence, not at ``max_new_tokens``).
    Arguments it does not implement (stop strings, hidden states, ...) fall back to ``model.generate``.
    """
    unsupported.pop("return_dict_in_generate", None)
    contiguous_head_input(model)  # a prefill's last-position slice would copy a frozen head per batch row
    if unsupported:
        return type(model).generate(
            model,
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            output_logits=output_logits,
            return_dict_in_generate=True,
            **unsupported,
        )
    gen_cfg = model.generation_config
    eos = gen_cfg.eos_token_id if isinstance(gen_cfg.eos_token_id, list) else [gen_cfg.eos_token_id]
    eos_ids = torch.tensor([e for e in eos if e is not None], device=input_ids.device)
    pad = gen_cfg.pad_token_id if gen_cfg.pad_token_id is not None else int(eos_ids[0])
    batch = input_ids.shape[0]
    generators = None
    if row_seeds is not None and any(seed is not None for seed in row_seeds):
        generators = [
            None if seed is None else torch.Generator(input_ids.device).manual_seed(seed) for seed in row_seeds
        ]

    cache = DynamicCache()
    # Prefill each distinct prompt once (a GRPO group, an eval's repeated samples: the same prompt
    # in several rows), then copy its KV cache and logits to its duplicates. Only the last
    # position's logits are computed (lm_head on every prompt token is ~20% of a 135M model's prefill).
    rows = torch.cat([input_ids, attention_mask.to(input_ids.dtype)], dim=1)
    distinct, inverse = torch.unique(rows, dim=0, return_inverse=True)  # [d, 2 * prompt_len], [batch]
    shared = len(distinct) < batch
    width = input_ids.shape[1]
    ids, prefill_mask = (distinct[:, :width], distinct[:, width:]) if shared else (input_ids, attention_mask)
    keep_last = {"logits_to_keep": 1} if _takes_logits_to_keep(model) else {}
    out = model(
        input_ids=ids,
        attention_mask=prefill_mask,
        position_ids=(prefill_mask.long().cumsum(-1) - 1).clamp(min=0),  # left padding: real tokens start at 0
        past_key_values=cache,
        use_cache=True,
        **keep_last,
    )
    logits = out.logits[:, -1, :].float()  # [live rows, vocab]
    if shared:
        cache.batch_select_indices(inverse)
        logits = logits[inverse]
    live = torch.arange(batch, device=input_ids.device)  # original row of each live row
    mask, last_pos = attention_mask, (attention_mask.long().sum(-1) - 1).clamp(min=0)  # each row's last position
    generated = torch.full((batch, max_new_tokens), pad, dtype=input_ids.dtype, device=input_ids.device)
    step_logits: list[torch.Tensor] = []
    ended_at = torch.full((batch,), -1, dtype=torch.long, device=input_ids.device)  # step of each row's EOS
    steps = 0
    for t in range(max_new_tokens):
        if output_logits:
            full = torch.zeros(batch, logits.shape[-1], device=logits.device)
            full[live] = logits
            step_logits.append(full)
        token = _sample(logits, do_sample, temperature, top_k, top_p, generators)
        generated[live, t] = token
        steps = t + 1
        keep = ~torch.isin(token, eos_ids)
        ended_at[live[~keep]] = t
        if t == max_new_tokens - 1 or not keep.any():
            break
        if not keep.all():  # retire finished rows from the batch and the KV cache
            idx = keep.nonzero().squeeze(1)
            cache.batch_select_indices(idx)
            live, token, mask, last_pos = live[idx], token[idx], mask[idx], last_pos[idx]
            if generators is not None:
                generators = [generators[i] for i in idx.tolist()]
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        last_pos = last_pos + 1
        out = model(
            input_ids=token[:, None],
            attention_mask=mask,
            position_ids=last_pos[:, None],
            past_key_values=cache,
            use_cache=True,
            **keep_last,
        )
        logits = out.logits[:, -1, :].float()
    finished = ended_at >= 0
    return SimpleNamespace(
        sequences=torch.cat([input_ids, generated[:, :steps]], dim=1),
        logits=tuple(step_logits) if output_logits else None,
        hidden_states=None,
        new_tokens=torch.where(finished, ended_at, torch.full_like(ended_at, steps)),
        finished=finished,
    )


def _takes_logits_to_keep(model: Any) -> bool:
    """Whether ``model``'s forward accepts ``logits_to_keep`` (transformers' causal LMs do)."""
    return "logits_to_keep" in inspect.signature(type(model).forward).parameters


# Per-sample seeding. Inspect's hf provider batches concurrent requests in a background thread
# and hands the generator only the batch's token ids, so a sampled answer would depend on the
# global RNG's history (whatever ran earlier in the process) and on its batch-mates. The
# provider instead derives one seed per request from (config.seed, sample id, epoch, prompt)
# and carries it to the batch thread as a tag at the end of the prompt text, which the
# tokenizer strips before tokenising: an answer is then the same in an uninterrupted run, a
# resumed run, or alone, as far as the logits allow: which requests share a batch depends on
# timing, bf16 logits differ slightly between batch shapes, and one flipped token changes the
# rest of a sampled answer (two demo runs hours apart agreed on 44 of 72 base-model answers).
# With max_connections=1 (the provider's batch size) every request is generated alone and the
# answers are the same in every run (72 of 72 in two runs; see README), ~7x slower.
# The api_key Inspect passes when it builds a second instance of a provider only to look up the model's name
# (inspect_ai.model._model_info); for a local provider that would load the weights a second time.
_MODEL_INFO_LOOKUP = "__model_info_lookup__"
_SEED_TAG_FORMAT = "\ue000emlab-seed:{}\ue001"  # private-use characters: never in real prompt text
_SEED_TAG = re.compile(re.escape(_SEED_TAG_FORMAT).replace(r"\{\}", r"(\d+)") + "$")
_request_seed: ContextVar[int | None] = ContextVar("emlab_request_seed", default=None)
_request_chat: ContextVar[str | None] = ContextVar("emlab_request_chat", default=None)  # the prompt text sent


def request_seed(seed: int, prompt: str) -> int:
    """The sampling seed of one request: a hash of the run's seed, the active sample and epoch, and the prompt."""
    active = sample_active()
    sample = f"{active.sample.id}|{active.epoch}" if active is not None and active.sample is not None else ""
    digest = hashlib.sha256(f"{seed}|{sample}|{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _strip_seed_tags(tokenizer: Any) -> None:
    """Make ``tokenizer`` (in place) strip seed tags from a batch of texts, keeping the seeds in ``tokenizer.row_seeds``
    and the texts as given (tags included) in ``tokenizer.row_texts``."""

    class SeedTaggedTokenizer(type(tokenizer)):  # type: ignore[misc]
        def __call__(self, text: Any = None, *args: Any, **kwargs: Any) -> Any:
            if isinstance(text, list) and all(isinstance(t, str) for t in text):
                self.row_texts = list(text)
                matches = [_SEED_TAG.search(t) for t in text]
                self.row_seeds = [int(m.group(1)) if m else None for m in matches]
                text = [t[: m.start()] if m else t for t, m in zip(text, matches, strict=True)]
            return super().__call__(text, *args, **kwargs)

    tokenizer.__class__ = SeedTaggedTokenizer
    tokenizer.row_seeds = None
    tokenizer.row_texts = None


class EmlabLocalModel(HuggingFaceAPI):
    """Inspect provider ``emlab/<model ref>``: resolved references, merged adapters, :func:`fast_generate`, per-sample seeds.

    Also per-answer usage and stop reason: the ``hf`` provider reports a batch's padded widths as every answer's
    input/output tokens and leaves ``stop_reason`` "unknown"; here each answer gets its own prompt length, its own
    generated tokens and ``"stop"`` or ``"max_tokens"`` (so a log shows which answers the token limit cut off).
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        if api_key == _MODEL_INFO_LOOKUP:  # Inspect's model-info lookup needs the name only: load no weights
            ModelAPI.__init__(self, model_name, base_url, api_key, [], config)
            return
        resolved = resolve_model(model_name)
        model_args.setdefault("dtype", inference_dtype())
        super().__init__(model_name, base_url, api_key, config, model_path=resolved.base_path, **model_args)
        if resolved.kind == "adapter":
            from peft import PeftModel  # deferred: only adapters need peft

            self.model = PeftModel.from_pretrained(self.model, resolved.path).merge_and_unload()
        self.model.eval()
        _strip_seed_tags(self.tokenizer)
        # The hf provider calls self.model.generate from its batch thread, right after tokenising the batch.
        self.model.generate = self._generate_batch
        # per prompt text, (answer text, input tokens, output tokens, stop reason) of its answers not yet returned
        self._row_usage: dict[str, list[tuple[str, int, int, str]]] = {}
        self._usage_lock = threading.Lock()

    def _generate_batch(self, **kwargs: Any) -> Any:
        out = fast_generate(self.model, row_seeds=self.tokenizer.row_seeds, **kwargs)
        texts = self.tokenizer.row_texts
        if texts is not None and hasattr(out, "new_tokens"):  # not on model.generate's fallback path
            width = kwargs["input_ids"].shape[1]
            answers = self.tokenizer.batch_decode(  # as the hf provider decodes: to match each answer to its request
                out.sequences[:, width:], skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            prompt_tokens = kwargs["attention_mask"].sum(-1).tolist()
            rows = zip(texts, answers, prompt_tokens, out.new_tokens.tolist(), out.finished.tolist(), strict=True)
            with self._usage_lock:
                for text, answer, n_in, n_out, finished in rows:
                    entry = (answer, int(n_in), int(n_out), "stop" if finished else "max_tokens")
                    self._row_usage.setdefault(text, []).append(entry)
        return out

    async def generate(
        self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
    ) -> ModelOutput:
        """The hf provider's generate, with this request's ``config.seed`` visible to :meth:`hf_chat`."""
        token, chat_token = _request_seed.set(config.seed), _request_chat.set(None)
        try:
            output = await super().generate(input, tools, tool_choice, config)
            chat = _request_chat.get()
        finally:
            _request_seed.reset(token)
            _request_chat.reset(chat_token)
        with self._usage_lock:  # this request's row: same prompt text and, among identical prompts, same answer
            pending = self._row_usage.get(chat, []) if chat is not None else []
            match = [i for i, entry in enumerate(pending) if entry[0] == output.completion]
            usage = pending.pop(match[0] if match else 0) if pending else None
            if chat in self._row_usage and not pending:
                del self._row_usage[chat]
        if usage is not None:
            _, n_in, n_out, reason = usage
            output.usage = ModelUsage(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)
            if output.choices and not output.choices[0].message.tool_calls:
                output.choices[0].stop_reason = reason
        return output

    def hf_chat(self, messages: list[ChatMessage], tools: list[ToolInfo]) -> str:
        """The chat prompt, tagged with its request seed when the config sets a seed (and kept for :meth:`generate`)."""
        chat = super().hf_chat(messages, tools)
        seed = _request_seed.get()
        chat = chat if seed is None else chat + _SEED_TAG_FORMAT.format(request_seed(seed, chat))
        _request_chat.set(chat)
        return chat
