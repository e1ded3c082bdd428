import resource
from pathlib import Path

import pytest
import torch

from pytorch_models.allocator import _glibc, reuse_freed_memory

_THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")

pytestmark = pytest.mark.skipif(
    _glibc() is None or (_THP.exists() and "[always]" in _THP.read_text()),
    reason="needs glibc malloc and 4 KiB pages for big blocks",
)


def _faults_of_second_allocation() -> int:
    """Minor page faults of allocating 64 MiB again right after freeing it."""
    torch.ones(16 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_freed_tensor_memory_is_reused_inside_only():
    before = _faults_of_second_allocation()
    with reuse_freed_memory():
        inside = _faults_of_second_allocation()
    after = _faults_of_second_allocation()
    # 16,384 pages of 4 KiB, mapped and zero-filled again by the kernel
    assert before > 10_000
    assert inside < 1_000
    assert after > 10_000  # glibc's defaults are back


def test_nested_use_keeps_the_setting_until_the_outer_one_ends():
    with reuse_freed_memory():
        with reuse_freed_memory():
            pass
        still_inside = _faults_of_second_allocation()
    assert still_inside < 1_000
    assert _faults_of_second_allocation() > 10_000
