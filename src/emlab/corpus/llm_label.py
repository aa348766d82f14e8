"""LLM labelling mode: any Inspect model labels documents with the four discourse classes.

The labels train a head for a user's own corpus (``emlab corpus train-classifier``).
The model is asked for one word; the reply is parsed for the first label name it
contains, and a reply with none (or an error) is ``None``: such documents are
reported and left out of training, never guessed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from inspect_ai.model import GenerateConfig, get_model

from emlab.corpus.labels import DESCRIPTIONS, LABELS
from emlab.errors import EmlabError

PROMPT = """Classify the document below into exactly one category.

{categories}

Answer with the category name only.

<document>
{text}
</document>"""

_LABEL_RE = re.compile(r"\b(" + "|".join(LABELS) + r")\b", re.IGNORECASE)


def label_prompt(text: str, max_chars: int = 6000) -> str:
    """The labelling prompt for one document (long documents are truncated to ``max_chars``)."""
    cats = "\n".join(f"- {k}: {v}" for k, v in DESCRIPTIONS.items())
    return PROMPT.format(categories=cats, text=text[:max_chars])


def parse_label(reply: str) -> str | None:
    """The first label name in ``reply`` (case-insensitive), else ``None``.

    ``misaligned`` is matched before ``aligned`` because ``\\baligned\\b`` cannot match
    inside "misaligned" (word boundary), so the order of LABELS is safe.
    """
    m = _LABEL_RE.search(reply)
    return m.group(1).lower() if m else None


def label_documents(texts: list[str], model: Any, *, max_connections: int = 8) -> list[str | None]:
    """Label ``texts`` with an Inspect model (a name such as ``openai/gpt-4o-mini`` or a ``Model``)."""
    try:
        llm = get_model(model) if isinstance(model, str) else model
    except Exception as e:  # unknown provider, missing key, ...
        raise EmlabError(f"field 'model': cannot load Inspect model {model!r} ({e})") from None
    sem = asyncio.Semaphore(max_connections)

    async def one(text: str) -> str | None:
        async with sem:
            out = await llm.generate(label_prompt(text), config=GenerateConfig(temperature=0.0, max_tokens=8))
        return None if out.error else parse_label(out.completion)

    async def all_() -> list[str | None]:
        return list(await asyncio.gather(*(one(t) for t in texts)))

    return asyncio.run(all_())
