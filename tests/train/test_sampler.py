"""Length-grouped order: a permutation, aligned groups of similar length, longest first, less padding than HF's."""

import random

import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

from emlab.train.sampler import LengthGroupedSampler, length_grouped_order


def _padding(lengths: list[int], order: list[int], batch: int) -> float:
    padded = sum(
        max(lengths[i] for i in order[k : k + batch]) * len(order[k : k + batch]) for k in range(0, len(order), batch)
    )
    return 1 - sum(lengths) / padded


def test_order_is_a_permutation_of_sorted_aligned_groups() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(20, 400) for _ in range(203)]  # 25 full groups of 8 + a partial one of 3
    order = length_grouped_order(lengths, 8, torch.Generator().manual_seed(0))
    assert sorted(order) == list(range(203))
    groups = [order[k : k + 8] for k in range(0, 203, 8)]
    assert all(len(g) == 8 for g in groups[:-1]) and len(groups[-1]) == 3  # the partial group is last
    assert lengths[groups[0][0]] == max(lengths)  # longest first
    assert all([lengths[i] for i in g] == sorted((lengths[i] for i in g), reverse=True) for g in groups)
    maxima = [lengths[g[0]] for g in groups[1:-1]]
    assert maxima != sorted(maxima, reverse=True)  # the batches themselves are shuffled, not a length curriculum


def test_less_padding_than_hugging_face_on_a_small_dataset() -> None:
    rng = random.Random(1)
    lengths = [rng.randint(60, 420) for _ in range(64)]
    ours = _padding(lengths, length_grouped_order(lengths, 8, torch.Generator().manual_seed(0)), 8)
    theirs = _padding(lengths, get_length_grouped_indices(lengths, 8, generator=torch.Generator().manual_seed(0)), 8)
    assert ours < theirs / 2


def test_sampler_is_reproducible_and_reshuffles_each_epoch() -> None:
    lengths = list(range(10, 90))
    a, b = LengthGroupedSampler(lengths, 4, seed=3), LengthGroupedSampler(lengths, 4, seed=3)
    first = list(a)
    assert first == list(b) and len(a) == 80
    assert list(a) != first  # the next epoch draws a new order
    assert list(LengthGroupedSampler(lengths, 4, seed=4)) != first
