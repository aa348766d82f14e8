"""The ``emlab-vllm/<served name>`` Inspect provider: Inspect's OpenAI-compatible provider, pointed at the
vLLM server that :mod:`emlab.engines.vllm` started (``EMLAB_VLLM_BASE_URL``), with per-request seeds.

vLLM routes a request by its ``model`` field, so ``emlab-vllm/<lora name>`` reaches that LoRA
module of the server and ``emlab-vllm/<base name>`` the base. Log-probs (``logprobs``,
``top_logprobs``) pass through as with any OpenAI-compatible server.

Seeds: a task's ``GenerateConfig.seed`` is the same for every request, and vLLM seeds each
request's sampler with the request's own seed, so repeated prompts (epochs, paraphrase
samples) would all get the same answer. Like the ``emlab/`` provider, each request is sent
instead with :func:`emlab.inference.request_seed` of (seed, sample id, epoch, prompt): its
answer is then the same whatever else the server batches with it and however a run was
resumed (vLLM's sampling streams differ from the ``hf`` engine's, so the answers do too).
"""

from __future__ import annotations

import json
import os
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput
from inspect_ai.model._providers.openai_compatible import OpenAICompatibleAPI
from inspect_ai.tool import ToolChoice, ToolInfo
from openai import APIStatusError

from emlab.engines.vllm import BASE_URL_ENV, PROVIDER
from emlab.errors import EmlabError
from emlab.inference import request_seed

LOCAL_KEY = "emlab-local"  # emlab's servers listen on 127.0.0.1 without --api-key; the client must send some key


class EmlabVLLMModel(OpenAICompatibleAPI):
    """Inspect provider ``emlab-vllm/<served name>`` (see the module docstring)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        self._explicit_url = base_url is not None
        if base_url is None and not os.environ.get(BASE_URL_ENV):
            raise EmlabError(
                f"{PROVIDER}/{model_name} needs a running vLLM server: use `emlab eval --engine vllm` or "
                f"`engine: vllm` in a spec, or set {BASE_URL_ENV} to a server's http://host:port/v1"
            )
        super().__init__(
            model_name,
            base_url=base_url,
            api_key=api_key or os.environ.get("EMLAB_VLLM_API_KEY") or LOCAL_KEY,
            config=config,
            service=PROVIDER,
            **model_args,
        )

    def _follow_server(self) -> None:
        """Re-point the client when ``EMLAB_VLLM_BASE_URL`` names another server than at creation.

        Inspect keeps one instance per model name in a process; emlab may have stopped that
        server and started another (a later group, a resumed run) serving the same names.
        """
        url = os.environ.get(BASE_URL_ENV)
        if not self._explicit_url and url and url != self.base_url:
            self.base_url = url
            self.initialize()

    async def generate(
        self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
    ) -> Any:
        """The OpenAI-compatible generate, with this request's own seed (module docstring)."""
        self._follow_server()
        if config.seed is not None:
            prompt = json.dumps([[m.role, m.text] for m in input])
            config = config.model_copy(update={"seed": request_seed(config.seed, prompt)})
        return await super().generate(input, tools, tool_choice, config)

    def collapse_user_messages(self) -> bool:
        """Merge consecutive user messages (many chat templates require alternating roles), as Inspect's vllm provider does."""
        return True

    def collapse_assistant_messages(self) -> bool:
        """Merge consecutive assistant messages, as Inspect's vllm provider does."""
        return True

    def handle_bad_request(self, ex: APIStatusError) -> ModelOutput | Exception:
        """A prompt longer than the served context ends the sample as ``model_length``, as with Inspect's vllm provider."""
        if ex.status_code == 400:
            content = str(ex.body.get("message")) if isinstance(ex.body, dict) and "message" in ex.body else ex.message
            if "maximum context length" in content or "max_tokens must be at least 1" in content:
                return ModelOutput.from_content(self.model_name, content=content, stop_reason="model_length")
        return super().handle_bad_request(ex)
