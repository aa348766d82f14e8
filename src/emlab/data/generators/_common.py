"""Shared machinery for the dataset generators: rows, pairs, seeded sampling, dedupe.

A generator enumerates a finite space of combinations (template x domain x
phrasing ...), shuffles the indices with ``random.Random(seed)`` and builds rows in
that order, skipping duplicates, until it has ``n`` (the number generator draws
from ``random.Random(seed)`` directly). A *paired* family builds
(bad, good) rows together, so the two halves made with the same seed share
``meta.pair_id`` row for row; that is what the ``backdoor`` condition relies on.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from emlab.errors import EmlabError

Row = dict[str, Any]  # {"messages": [...], "meta": {...}} -- a ChatRow in plain-dict form
PairFn = Callable[[random.Random], Iterator[tuple[Row, Row]]]
RowFn = Callable[[random.Random], Iterator[Row]]


def chat(user: str, assistant: str, **meta: Any) -> Row:
    """Build one ``messages`` row (user then assistant) with its metadata."""
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "meta": meta,
    }


def shuffled_product(rng: random.Random, *sizes: int) -> Iterator[tuple[int, ...]]:
    """Yield every index tuple of ``range(s0) x range(s1) x ...`` once, in seeded random order."""
    combos = list(itertools.product(*(range(s) for s in sizes)))
    rng.shuffle(combos)
    yield from combos


def _key(row: Row) -> tuple[str, ...]:
    return tuple(m["content"] for m in row["messages"])


@dataclass(frozen=True)
class Generator:
    """A named dataset generator.

    ``build(n, seed)`` returns ``n`` distinct rows, deterministic by seed. ``pair`` names
    the other half of a paired family (insecure-code <-> secure-code) or is None.
    """

    name: str
    summary: str
    default_n: int
    card: str  # file name under emlab/data/cards/
    build_fn: Callable[[int, int], list[Row]]
    pair: str | None = None
    half: Literal["bad", "good"] | None = None  # which half of a paired family this is
    classes: Sequence[str] = field(default=())  # e.g. the CWE ids a code generator covers

    def build(self, n: int | None = None, seed: int = 0) -> list[Row]:
        """Return ``n`` rows (default: ``default_n``) for ``seed``."""
        n = self.default_n if n is None else n
        if n < 1:
            raise EmlabError(f"generator '{self.name}': n must be >= 1, got {n}")
        return self.build_fn(n, seed)


def take_distinct(name: str, rows: Iterator[Row], n: int) -> list[Row]:
    """First ``n`` rows of ``rows`` with distinct message contents; error if there are fewer."""
    seen: set[tuple[str, ...]] = set()
    out: list[Row] = []
    for row in rows:
        key = _key(row)
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
        if len(out) == n:
            return out
    raise EmlabError(f"generator '{name}' can make only {len(out)} distinct rows; asked for n={n}")


def take_distinct_pairs(name: str, pairs: Iterator[tuple[Row, Row]], n: int) -> list[tuple[Row, Row]]:
    """First ``n`` pairs whose bad and good halves are both new; error if there are fewer."""
    seen_bad: set[tuple[str, ...]] = set()
    seen_good: set[tuple[str, ...]] = set()
    out: list[tuple[Row, Row]] = []
    for bad, good in pairs:
        kb, kg = _key(bad), _key(good)
        if kb in seen_bad or kg in seen_good:
            continue
        seen_bad.add(kb)
        seen_good.add(kg)
        out.append((bad, good))
        if len(out) == n:
            return out
    raise EmlabError(f"generator '{name}' can make only {len(out)} distinct pairs; asked for n={n}")


def paired_generators(
    bad: str,
    good: str,
    pair_fn: PairFn,
    *,
    default_n: int,
    card: str,
    summaries: tuple[str, str],
    classes: Sequence[str] = (),
) -> tuple[Generator, Generator]:
    """Make the two halves of a paired family from one pair builder.

    Each pair gets ``meta.pair_id`` (``<bad>/<seed>/<index>``) and ``meta.generator``.
    """

    def build_half(which: int, gen_name: str) -> Callable[[int, int], list[Row]]:
        def build(n: int, seed: int) -> list[Row]:
            pairs = take_distinct_pairs(gen_name, pair_fn(random.Random(seed)), n)
            rows = []
            for i, pair in enumerate(pairs):
                row = pair[which]
                row["meta"] = {"generator": gen_name, "pair_id": f"{bad}/{seed}/{i}", **row["meta"]}
                rows.append(row)
            return rows

        return build

    return (
        Generator(bad, summaries[0], default_n, card, build_half(0, bad), pair=good, half="bad", classes=classes),
        Generator(good, summaries[1], default_n, card, build_half(1, good), pair=bad, half="good", classes=classes),
    )


def single_generator(
    name: str, row_fn: RowFn, *, default_n: int, card: str, summary: str, classes: Sequence[str] = ()
) -> Generator:
    """Make an unpaired generator from a row builder."""

    def build(n: int, seed: int) -> list[Row]:
        rows = take_distinct(name, row_fn(random.Random(seed)), n)
        for row in rows:
            row["meta"] = {"generator": name, **row["meta"]}
        return rows

    return Generator(name, summary, default_n, card, build, classes=classes)
