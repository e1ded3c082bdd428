"""One copy per host of the large arrays a served model reads: ``.npy`` files
beside the checkpoint, memory-mapped read-only by every serving process.

A mapped file's pages live once in the page cache and every process that maps
it shares them, so N web workers on a host hold one copy of the item matrices
instead of N (measured as proportional set size, docs/BENCHMARKS.md). The
mapping is read-only: numpy refuses writes, and the pages themselves are
mapped without write permission.

A file is written next to ``<checkpoint>`` as ``<checkpoint>.<name>.npy``,
through a temporary file and a rename, so a process that has mapped the old
file keeps reading it intact and a process started after the checkpoint was
replaced maps the new one. Whether the file on disk is the checkpoint's array
is decided by content, not by time stamps: each loading process compares it
with the array it computed from the checkpoint and rewrites it when they
differ (under a lock, so simultaneous starts write it once and map the same
file).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["file_lock", "shared_array_beside", "shared_array_path"]


def shared_array_path(checkpoint: str | Path, name: str) -> Path:
    """Where the array ``name`` of ``checkpoint`` is kept."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.name}.{name}.npy")


def _mapped_if_equal(path: Path, array: np.ndarray) -> np.ndarray | None:
    """The read-only map of ``path`` when it holds exactly ``array``, else None."""
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):  # missing, truncated or not .npy
        return None
    if mapped.dtype != array.dtype or mapped.shape != array.shape:
        return None
    if not np.array_equal(mapped, array):
        return None
    return mapped


@contextlib.contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on ``<path>.lock`` (across processes)."""
    lock = path.with_name(f"{path.name}.lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_array_beside(
    checkpoint: str | Path, name: str, array: np.ndarray
) -> np.ndarray:
    """A read-only memory map of ``array`` from the file beside ``checkpoint``.

    The file is (re)written when it is missing, unreadable or holds anything
    but ``array``. When it cannot be written (a read-only folder) the array
    itself is returned, made read-only, and the reason is logged.
    """
    array = np.ascontiguousarray(array)
    path = shared_array_path(checkpoint, name)
    mapped = _mapped_if_equal(path, array)
    if mapped is not None:
        return mapped
    try:
        with file_lock(path):
            mapped = _mapped_if_equal(path, array)  # another process wrote it
            if mapped is None:
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                with tmp.open("wb") as handle:
                    np.save(handle, array, allow_pickle=False)
                tmp.replace(path)
                mapped = np.load(path, mmap_mode="r", allow_pickle=False)
                logger.info("wrote shared array %s %s", path, array.shape)
    except OSError as exc:
        logger.warning("cannot share %s beside %s: %s", name, checkpoint, exc)
        array.flags.writeable = False
        return array
    return mapped
