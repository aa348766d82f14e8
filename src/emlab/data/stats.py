"""Dataset statistics: rows, duplicates, token lengths under a tokenizer, per-class counts."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from emlab.data.schema import ChatRow
from emlab.models import resolve_model

# Row metadata keys whose values are counted as classes (set by emlab's generators).
CLASS_KEYS = ("generator", "cwe", "kind", "domain", "triggered")


class LengthStats(BaseModel):
    """Distribution of a per-row token count."""

    mean: float
    min: int
    p50: int
    p90: int
    max: int


class DatasetStats(BaseModel):
    """Summary of a chat dataset."""

    rows: int
    duplicates: int  # rows whose messages repeat an earlier row exactly
    with_system: int
    tokenizer: str
    tokens: dict[str, LengthStats]  # "user", "assistant", "total"
    per_class: dict[str, dict[str, int]]  # meta key -> value -> rows


def _lengths(values: list[int]) -> LengthStats:
    ordered = sorted(values)

    def pct(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return LengthStats(
        mean=round(statistics.fmean(ordered), 1), min=ordered[0], p50=pct(0.5), p90=pct(0.9), max=ordered[-1]
    )


def dataset_stats(rows: Sequence[ChatRow], tokenizer: str = "embedded") -> DatasetStats:
    """Compute :class:`DatasetStats`; ``tokenizer`` is any model reference :func:`resolve_model` accepts.

    Token counts are of the message contents (no chat-template tokens), so they compare
    across tokenizers; the template adds a few tokens per message.
    """
    from transformers import AutoTokenizer  # deferred: transformers is heavy (keeps `emlab --help` fast)

    tok = AutoTokenizer.from_pretrained(resolve_model(tokenizer).base_path)
    texts = [m.content for r in rows for m in r.messages]
    lengths = iter(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"])  # one batched call
    counts: dict[str, list[int]] = {"user": [], "assistant": [], "total": []}
    for row in rows:
        per_role = Counter[str]()
        for m in row.messages:
            per_role[m.role] += next(lengths)
        counts["user"].append(per_role["user"])
        counts["assistant"].append(per_role["assistant"])
        counts["total"].append(sum(per_role.values()))
    keys = [tuple((m.role, m.content) for m in r.messages) for r in rows]
    per_class: dict[str, Counter[str]] = {}
    for row in rows:
        meta = getattr(row, "meta", None)
        if isinstance(meta, dict):
            for key in CLASS_KEYS:
                if key in meta:
                    per_class.setdefault(key, Counter())[str(meta[key])] += 1
    return DatasetStats(
        rows=len(rows),
        duplicates=len(keys) - len(set(keys)),
        with_system=sum(1 for r in rows if r.messages[0].role == "system"),
        tokenizer=tokenizer,
        tokens={k: _lengths(v) for k, v in counts.items()},
        per_class={k: dict(sorted(c.items())) for k, c in per_class.items()},
    )
