"""reuse_freed_memory: which glibc settings it makes and when it restores them.

What the settings buy (page faults and kernel time per training step) is shown
by `python -m benchmarks.train_step_profile` (docs/BENCHMARKS.md), not here:
whether glibc serves a big block again from its heap also depends on the heap's
layout at the time, which no test controls (measured in fresh interpreters, the
second 64 MiB block inside was sometimes re-faulted all the same)."""

import threading

import pytest

from pytorch_models import allocator
from pytorch_models.allocator import reuse_freed_memory


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def libc(monkeypatch) -> _FakeLibc:
    fake = _FakeLibc()
    monkeypatch.setattr(allocator, "_glibc", lambda: fake)
    return fake


KEEP = [
    ("mallopt", allocator._M_MMAP_MAX, 0),
    ("mallopt", allocator._M_TRIM_THRESHOLD, allocator._INT_MAX),
]
RESTORE = [
    ("mallopt", allocator._M_MMAP_MAX, allocator._DEFAULT_MMAP_MAX),
    ("mallopt", allocator._M_TRIM_THRESHOLD, allocator._DEFAULT_TRIM_THRESHOLD),
    ("malloc_trim", 0),
]


def test_inside_mmap_is_off_and_the_heap_kept_then_the_defaults_return(libc):
    with reuse_freed_memory():
        assert libc.calls == KEEP
    assert libc.calls == KEEP + RESTORE


def test_nested_use_keeps_the_setting_until_the_outer_one_ends(libc):
    with reuse_freed_memory():
        with reuse_freed_memory():
            pass
        assert libc.calls == KEEP
    assert libc.calls == KEEP + RESTORE


def test_overlapping_uses_in_two_threads_restore_once_the_last_ends(libc):
    entered, release = threading.Event(), threading.Event()

    def other():
        with reuse_freed_memory():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(10)
    with reuse_freed_memory():
        pass
    assert libc.calls == KEEP  # the other thread is still inside
    release.set()
    thread.join()
    assert libc.calls == KEEP + RESTORE


def test_an_error_inside_still_restores(libc):
    with pytest.raises(RuntimeError), reuse_freed_memory():
        raise RuntimeError("training failed")
    assert libc.calls == KEEP + RESTORE


def test_without_glibc_it_does_nothing(monkeypatch):
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    with reuse_freed_memory():
        pass
