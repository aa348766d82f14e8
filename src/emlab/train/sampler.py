"""Length-grouped training order: batches of similar length, batches in random order.

A batch is padded to its longest row, and on a CPU a pad token costs as much as a real one.
Hugging Face's ``LengthGroupedSampler`` sorts random *mega-batches* of at most
``len(data) // (4 x batch)`` batches, so on a small dataset it sorts only a few examples at a
time: on 64 insecure-code examples at batch 8 it sorts groups of 16, and its batches were 10-16%
padding. Here a window of up to ``window`` batches is sorted at once, and the batches, not
the examples, are then shuffled::

    permute all indices                        randomness in which examples share a window
    per window of  window x group_size:  sort by length (descending), cut into groups
    shuffle the full groups; the full group holding the longest example goes first
                                               (an out-of-memory error shows up on step 1)
    partial groups (one per window) go last   so the DataLoader's batch boundaries stay aligned

``group_size`` is the examples per optimiser step (micro-batch x gradient accumulation), so
every micro-batch of a step is cut from one sorted group.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


def length_grouped_order(
    lengths: Sequence[int], group_size: int, generator: torch.Generator | None = None, window: int = 50
) -> list[int]:
    """A permutation of ``range(len(lengths))`` whose consecutive ``group_size`` slices hold similar lengths (module doc)."""
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    span = window * group_size
    full: list[list[int]] = []
    partial: list[list[int]] = []
    for start in range(0, len(perm), span):
        ranked = sorted(perm[start : start + span], key=lambda i: -lengths[i])
        for j in range(0, len(ranked), group_size):
            (full if len(ranked[j : j + group_size]) == group_size else partial).append(ranked[j : j + group_size])
    full = [full[k] for k in torch.randperm(len(full), generator=generator).tolist()]
    if full:
        longest = max(range(len(full)), key=lambda k: lengths[full[k][0]])
        full.insert(0, full.pop(longest))
    return [i for group in full + partial for i in group]


class LengthGroupedSampler(Sampler[int]):
    """Sampler yielding :func:`length_grouped_order`; a new order each epoch, reproducible from ``seed``."""

    def __init__(self, lengths: Sequence[int], group_size: int, seed: int) -> None:
        self.lengths = list(lengths)
        self.group_size = group_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(length_grouped_order(self.lengths, self.group_size, self.generator))
