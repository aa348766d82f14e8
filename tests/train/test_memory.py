"""keep_freed_memory: freed tensors' pages stay mapped inside the block, and glibc's defaults return after it."""

import platform
import resource

import pytest
import torch

from emlab.train.memory import keep_freed_memory

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or not platform.libc_ver()[0].startswith("glibc"), reason="glibc only"
)

BIG = 64 * 2**20 // 4  # 64 MiB of fp32: above glibc's largest mmap threshold (32 MiB)


def _faults_of_reallocation() -> int:
    """Page faults taken by filling a fresh 64 MiB tensor right after an identical one was freed."""
    first = torch.ones(BIG)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = torch.ones(BIG)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del second
    return faults


def test_freed_pages_are_reused_inside_the_block_only() -> None:
    pages = BIG * 4 // 4096
    assert _faults_of_reallocation() > pages // 2  # glibc default: munmap on free, fresh zero pages again
    with keep_freed_memory() as active:
        assert active is True
        _faults_of_reallocation()  # grows the heap once
        assert _faults_of_reallocation() < pages // 20  # the freed pages are still mapped
    assert _faults_of_reallocation() > pages // 2  # defaults restored, memory handed back
